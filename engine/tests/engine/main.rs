//! The engine's integration tests, in one binary: real models on real media, frame by frame
//! (attempts, light, real people's clips). One binary links OpenCV and
//! tract once, and its tests share one load of the models.

#[path = "../support/mod.rs"]
mod support;

mod attempt;
mod light;
mod real_media;
mod real_people;
