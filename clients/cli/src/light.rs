//! The light step on a terminal: the CLI's camera mode fills the terminal with each colour of the
//! sequence, as the web page fills the browser window, and reports what it showed and when.
//!
//! A maximised terminal painted one colour lights a face as a browser window does: the light
//! is the screen's, whatever draws it. The colours are 24-bit background escapes on the alternate
//! screen (the user's scrollback comes back untouched afterwards), cleared with the background
//! colour (back-colour erase, which xterm, VTE, kitty, iTerm2 and Windows Terminal do). A flash is
//! stamped when its escape sequence is written and flushed; the terminal paints it a frame or two
//! later, well within the time the server lets a flash settle before it measures it.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use livegate_proto::v1 as pb;
use tokio::sync::{mpsc, watch};

/// Where the colours are painted: the terminal (stdout), or any writer (a test's buffer).
pub struct ColourScreen {
    out: Box<dyn Write + Send>,
}

impl std::fmt::Debug for ColourScreen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ColourScreen")
    }
}

impl ColourScreen {
    /// The terminal this process writes to.
    pub fn stdout() -> Self {
        ColourScreen {
            out: Box::new(std::io::stdout()),
        }
    }

    pub fn to_writer(out: impl Write + Send + 'static) -> Self {
        ColourScreen { out: Box::new(out) }
    }

    /// Whether this terminal can show the colours: stdout is a terminal that says it has 24-bit
    /// colour (`COLORTERM=truecolor` or `24bit`, as terminals that do set it).
    pub fn terminal_can_show() -> bool {
        use std::io::IsTerminal;
        let truecolor = std::env::var("COLORTERM")
            .is_ok_and(|v| matches!(v.to_ascii_lowercase().as_str(), "truecolor" | "24bit"));
        truecolor && std::io::stdout().is_terminal()
    }

    fn write(&mut self, text: &str) -> std::io::Result<()> {
        self.out.write_all(text.as_bytes())?;
        self.out.flush()
    }

    /// The screen behind its lock, as a stream's options hold it.
    pub fn shared(self) -> Arc<Mutex<ColourScreen>> {
        Arc::new(Mutex::new(self))
    }
}

/// The escape sequence that fills the screen with `rgb` (0xRRGGBB) and writes `message` on it.
pub fn fill(rgb: u32, message: &str) -> String {
    let (r, g, b) = ((rgb >> 16) & 0xff, (rgb >> 8) & 0xff, rgb & 0xff);
    // White text on a dark colour, black on a light one.
    let luma = 0.299 * r as f32 + 0.587 * g as f32 + 0.114 * b as f32;
    let ink = if luma > 140.0 { "30" } else { "97" };
    format!("\x1b[48;2;{r};{g};{b}m\x1b[2J\x1b[H\x1b[{ink}m {message}")
}

/// Alternate screen, cursor hidden.
const ENTER: &str = "\x1b[?1049h\x1b[?25l";
/// Colours reset, cursor shown, the user's screen back.
const LEAVE: &str = "\x1b[0m\x1b[2J\x1b[?25h\x1b[?1049l";

/// Longest the light step waits for a face before it starts the colours anyway (the server's
/// step limit then decides).
const FACE_WAIT: Duration = Duration::from_secs(5);

/// What a stream needs to play a light step: the screen, the frames' clock, the way to the
/// server, and whether a face is in view. Cloned for each light step (a step may be shown
/// again, `Challenge.again`).
#[derive(Clone)]
pub struct LightPlayer {
    pub screen: Arc<Mutex<ColourScreen>>,
    /// The instant the frames' timestamps count from.
    pub clock: Instant,
    pub out: mpsc::Sender<pb::StreamSessionRequest>,
    /// Faces in the last analysed frame.
    pub faces: watch::Receiver<u32>,
    /// Set while the colours are on screen (progress lines would draw over them).
    pub showing: Arc<AtomicBool>,
}

impl LightPlayer {
    /// Once a face is in view, shows each colour of `challenge` for its duration, then reports
    /// what was shown (`light_shown`). A terminal that cannot be written to shows nothing and
    /// reports nothing: the server then fails the step (`LIGHT_NOT_SHOWN`).
    pub async fn play(mut self, challenge: pb::Challenge) {
        let _ = tokio::time::timeout(FACE_WAIT, self.faces.wait_for(|&n| n == 1)).await;
        self.showing.store(true, Ordering::SeqCst);
        let played = self.flashes(&challenge).await;
        self.showing.store(false, Ordering::SeqCst);
        let Ok(flashes) = played else { return };
        let report = pb::LightShown {
            challenge_index: challenge.index,
            flashes,
        };
        let message = pb::StreamSessionRequest {
            message: Some(pb::stream_session_request::Message::LightShown(report)),
        };
        // The stream may have ended meanwhile; there is nobody left to tell.
        self.out.send(message).await.ok();
    }

    async fn flashes(&self, challenge: &pb::Challenge) -> std::io::Result<Vec<pb::ShownFlash>> {
        let mut shown: Vec<pb::ShownFlash> = Vec::new();
        let alternate = AlternateScreen::enter(&self.screen)?;
        let words = if challenge.again {
            "Once more: turn the brightness up and face the screen"
        } else {
            "Hold still and face the screen"
        };
        for flash in &challenge.light_sequence {
            paint(&self.screen, &fill(flash.rgb, words))?;
            let start = self.now_ms();
            if let Some(previous) = shown.last_mut() {
                previous.end_ms = start;
            }
            shown.push(pb::ShownFlash {
                rgb: flash.rgb,
                start_ms: start,
                end_ms: start,
            });
            tokio::time::sleep(Duration::from_millis(flash.duration_ms as u64)).await;
        }
        drop(alternate);
        let end = self.now_ms();
        if let Some(last) = shown.last_mut() {
            last.end_ms = end;
        }
        Ok(shown)
    }

    fn now_ms(&self) -> i64 {
        self.clock.elapsed().as_millis() as i64
    }
}

/// The colours' alternate screen, given back when dropped: after the last colour, and also when
/// the stream ends mid-sequence (the task is dropped with the runtime) or a write fails, so the
/// terminal is never left coloured.
struct AlternateScreen(Arc<Mutex<ColourScreen>>);

impl AlternateScreen {
    fn enter(screen: &Arc<Mutex<ColourScreen>>) -> std::io::Result<Self> {
        paint(screen, ENTER)?;
        Ok(AlternateScreen(screen.clone()))
    }
}

impl Drop for AlternateScreen {
    fn drop(&mut self) {
        let _ = paint(&self.0, LEAVE);
    }
}

fn paint(screen: &Mutex<ColourScreen>, text: &str) -> std::io::Result<()> {
    // A poisoned lock only means another painter panicked mid-write: the screen is still there.
    let mut screen = screen.lock().unwrap_or_else(|e| e.into_inner());
    screen.write(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer the test reads back.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_sequence_cut_short_still_gives_the_terminal_back() {
        let captured = Captured::default();
        let (out, _server) = mpsc::channel(1);
        let (_faces_tx, faces) = watch::channel(1u32);
        let player = LightPlayer {
            screen: ColourScreen::to_writer(captured.clone()).shared(),
            clock: Instant::now(),
            out,
            faces,
            showing: Arc::new(AtomicBool::new(false)),
        };
        let flash = |rgb| pb::LightFlash {
            rgb,
            duration_ms: 10_000,
        };
        let challenge = pb::Challenge {
            light_sequence: vec![flash(0xff0000), flash(0x00ff00)],
            ..Default::default()
        };
        // The stream ends during the first colour: the task is dropped mid-sequence.
        let playing = tokio::spawn(player.play(challenge));
        tokio::time::sleep(Duration::from_millis(50)).await;
        playing.abort();
        let _ = playing.await;
        let painted = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(painted.starts_with(ENTER), "{painted:?}");
        assert_eq!(painted.matches("\x1b[48;2;").count(), 1, "{painted:?}");
        assert!(
            painted.ends_with(LEAVE),
            "the screen is given back: {painted:?}"
        );
    }

    #[test]
    fn a_fill_paints_the_background_in_24_bit_and_picks_a_readable_ink() {
        let red = fill(0xff0000, "x");
        assert!(red.starts_with("\x1b[48;2;255;0;0m\x1b[2J"), "{red:?}");
        assert!(red.contains("\x1b[97m"), "white on red: {red:?}");
        let yellow = fill(0xffff00, "x");
        assert!(yellow.contains("\x1b[48;2;255;255;0m"));
        assert!(yellow.contains("\x1b[30m"), "black on yellow: {yellow:?}");
    }
}
