//! API keys and tenants, as a gate ([`crate::gate`]) in front of both transports.
//!
//! Each configured key belongs to one tenant. A request presents its key as
//! `authorization: Bearer <key>` or `x-api-key: <key>` (gRPC metadata and HTTP headers alike);
//! the gate puts the caller's [`Tenant`] in the request's extensions, where handlers find it,
//! or the layer answers the request itself with `UNAUTHENTICATED` (2013) in the transport's own
//! error shape. Paths that need no key (health, reflection, the OpenAPI document, the WebSocket
//! stream, which presents its session's one-time stream token instead) are listed once, where
//! the server is assembled.
//!
//! With no keys configured the server runs open, for development: every caller is the tenant
//! `default`, and start-up logs a warning.

use std::fmt;
use std::sync::Arc;

use http::{HeaderMap, Request};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::gate::Gate;

/// Whose sessions a call may see.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tenant(Arc<str>);

impl Tenant {
    pub fn new(name: &str) -> Self {
        Tenant(name.into())
    }

    /// The tenant of an open (keyless) server.
    pub fn open() -> Self {
        Tenant::new("default")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Tenant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One configured key: `tenant:key`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub tenant: Tenant,
    pub key: String,
}

// Keys never reach logs, not even through the configuration's Debug.
impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:<redacted>", self.tenant)
    }
}

impl std::str::FromStr for ApiKey {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (tenant, key) = s
            .split_once(':')
            .ok_or_else(|| "an API key is written tenant:key".to_string())?;
        let (tenant, key) = (tenant.trim(), key.trim());
        if tenant.is_empty() || key.len() < 16 {
            return Err("an API key needs a tenant name and at least 16 characters".into());
        }
        Ok(ApiKey {
            tenant: Tenant::new(tenant),
            key: key.to_string(),
        })
    }
}

/// The configured keys with their tenants.
#[derive(Debug, Default)]
pub struct ApiKeys {
    keys: Vec<(String, Tenant)>,
}

impl ApiKeys {
    pub fn new(keys: &[ApiKey]) -> Self {
        ApiKeys {
            keys: keys
                .iter()
                .map(|k| (k.key.clone(), k.tenant.clone()))
                .collect(),
        }
    }

    /// True when no key is configured and every caller is [`Tenant::open`].
    pub fn is_open(&self) -> bool {
        self.keys.is_empty()
    }

    /// The tenant whose key the request presents.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Tenant, ApiError> {
        if self.is_open() {
            return Ok(Tenant::open());
        }
        let presented = presented_key(headers).ok_or(ApiError::Unauthenticated(
            "an API key is required (authorization: Bearer <key>, or x-api-key)",
        ))?;
        // Every configured key is compared, each in constant time (`subtle`), so the answer's
        // time says neither which key a guess was near nor how much of it was right.
        let mut found = None;
        for (key, tenant) in &self.keys {
            if bool::from(key.as_bytes().ct_eq(presented.as_bytes())) {
                found = Some(tenant);
            }
        }
        found
            .cloned()
            .ok_or(ApiError::Unauthenticated("the API key is not valid"))
    }
}

fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(v.trim());
    }
    let auth = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, key) = auth.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| key.trim())
}

/// Authenticates every request of the routes or services it is attached to (as a
/// [`GateLayer`](crate::gate::GateLayer)), putting the caller's [`Tenant`] in its extensions. It is attached to what
/// needs a key, never given a list of what does not: a new route is public only where it is
/// added to the public router.
#[derive(Clone)]
pub struct Authenticate {
    keys: Arc<ApiKeys>,
}

impl Authenticate {
    pub fn new(keys: Arc<ApiKeys>) -> Self {
        Authenticate { keys }
    }
}

impl Authenticate {
    fn check<B>(&self, request: &mut Request<B>) -> Result<(), ApiError> {
        let tenant = self.keys.authenticate(request.headers()).inspect_err(|e| {
            tracing::info!(path = request.uri().path(), "refused: {e}");
        })?;
        request.extensions_mut().insert(tenant);
        Ok(())
    }
}

impl Gate for Authenticate {
    fn admit<B: Send>(
        &self,
        request: &mut Request<B>,
    ) -> impl Future<Output = Result<(), ApiError>> + Send {
        std::future::ready(self.check(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> ApiKeys {
        ApiKeys::new(&[
            "acme:acme-key-0123456789".parse().unwrap(),
            "globex:globex-key-0123456789".parse().unwrap(),
        ])
    }

    fn headers(name: &'static str, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, value.parse().unwrap());
        h
    }

    #[test]
    fn a_key_names_its_tenant_in_either_header() {
        let k = keys();
        let bearer = headers("authorization", "Bearer acme-key-0123456789");
        assert_eq!(k.authenticate(&bearer).unwrap(), Tenant::new("acme"));
        let x = headers("x-api-key", "globex-key-0123456789");
        assert_eq!(k.authenticate(&x).unwrap(), Tenant::new("globex"));
    }

    #[test]
    fn missing_wrong_and_malformed_keys_are_refused() {
        let k = keys();
        for h in [
            HeaderMap::new(),
            headers("x-api-key", "acme-key-012345678"),
            headers("authorization", "Basic acme-key-0123456789"),
            headers("authorization", "acme-key-0123456789"),
        ] {
            assert!(matches!(
                k.authenticate(&h),
                Err(ApiError::Unauthenticated(_))
            ));
        }
    }

    #[test]
    fn keys_are_checked_when_configured_and_redacted_in_logs() {
        assert!("acme:short".parse::<ApiKey>().is_err());
        assert!("no-colon-0123456789".parse::<ApiKey>().is_err());
        let key: ApiKey = "acme:acme-key-0123456789".parse().unwrap();
        assert_eq!(format!("{key:?}"), "acme:<redacted>");
        assert!(ApiKeys::default().is_open());
    }
}
