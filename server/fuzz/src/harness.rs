//! The server the targets talk to: one per process (a fuzzer runs millions of inputs through
//! it), with the real models, sessions in memory, and limits that do not refuse the fuzzer
//! itself for going fast.

use std::sync::OnceLock;

use livegate_server::{AppState, Config};

pub struct Harness {
    pub runtime: tokio::runtime::Runtime,
    pub state: AppState,
    pub router: axum::Router,
}

impl Harness {
    /// The process's harness, built on first use.
    pub fn get() -> &'static Harness {
        static HARNESS: OnceLock<Harness> = OnceLock::new();
        HARNESS.get_or_init(Harness::new)
    }

    fn new() -> Harness {
        let mut config = Config::defaults();
        // A fuzzer creates sessions and identity checks far faster than any caller may; the
        // limits themselves have their own tests.
        config.sessions_per_minute = u32::MAX / 2;
        config.session_burst = u32::MAX / 2;
        config.identity_checks_per_minute = u32::MAX / 2;
        config.identity_check_burst = u32::MAX / 2;
        let models = livegate_server::load_models(&config)
            .expect("models (python3 engine/assets/fetch.py models)");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        // The state's limiter and store start tasks: build it inside the runtime.
        let state = runtime.block_on(async { AppState::new(config, models) });
        let router = livegate_server::rest::router(state.clone());
        Harness {
            runtime,
            state,
            router,
        }
    }
}
