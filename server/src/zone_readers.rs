//! Tesseract readers for identity documents' zones, kept between requests.

use livegate_engine::document::zone::ZoneReader;

use crate::error::ApiError;

/// Tesseract readers kept between requests: loading one costs ~75 ms, a third of reading a
/// page. At most one per engine slot is ever in use, so the pool never grows beyond that.
#[derive(Default)]
pub struct ZoneReaders(std::sync::Mutex<Vec<ZoneReader>>);

impl ZoneReaders {
    pub(crate) fn take(&self) -> Result<ZoneReader, ApiError> {
        let pooled = self.0.lock().unwrap_or_else(|e| e.into_inner()).pop();
        match pooled {
            Some(reader) => Ok(reader),
            None => Ok(ZoneReader::new()?),
        }
    }

    pub(crate) fn put(&self, reader: ZoneReader) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(reader);
    }
}
