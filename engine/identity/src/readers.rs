//! Tesseract readers for identity documents' zones, kept between checks.

use std::sync::Mutex;

use livegate_engine::EngineError;

use crate::document::zone::ZoneReader;

/// Tesseract readers kept between checks: loading one costs ~75 ms, a third of reading a page.
/// At most one per concurrent check is ever in use, so the pool never grows beyond that.
#[derive(Default)]
pub struct ZoneReaders(Mutex<Vec<ZoneReader>>);

impl ZoneReaders {
    /// A reader from the pool, or a new one.
    pub fn take(&self) -> Result<ZoneReader, EngineError> {
        let pooled = self.0.lock().unwrap_or_else(|e| e.into_inner()).pop();
        match pooled {
            Some(reader) => Ok(reader),
            None => ZoneReader::new(),
        }
    }

    /// Gives a reader back for the next check.
    pub fn put(&self, reader: ZoneReader) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(reader);
    }
}
