//! The engine's integration tests, in one binary: real models on real media, frame by frame
//! (attempts, light, real people's clips). One binary links OpenCV and
//! tract once, and its tests share one load of the models.

use livegate_testkit as support;

mod attempt;
mod light;
mod real_media;
mod real_people;
