//! The embedded default: with no profile, the console starts the service provider itself,
//! on loopback, with SQLite in the user's data dir, seeded with the demo org, and connects as
//! the demo owner through a token minted for this run only.

use crate::server::demo::{DEMO_OWNER, ensure_demo};
use crate::server::{ServerConfig, run_server};
use crate::store::prelude::*;
use crate::store::{AnyStore, DbTarget};
use std::path::Path;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The label of the per-run admin token, so the audit log says where the actions came from.
const TOKEN_LABEL: &str = "console (embedded)";

pub struct Embedded {
    pub base_url: String,
    pub org_uid: String,
    pub db: DbTarget,
    /// The admin token of this run; revoked by `stop`.
    pub token: String,
    token_id: String,
    org_id: i64,
    store: AnyStore,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

impl std::fmt::Debug for Embedded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedded")
            .field("base_url", &self.base_url)
            .field("org_uid", &self.org_uid)
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

impl Embedded {
    /// Opens (or creates) `data_dir/embedded.db`, makes sure the demo org exists and serves
    /// it on 127.0.0.1 on a free port.
    pub async fn start(data_dir: &Path) -> Result<Embedded, String> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            format!(
                "cannot create the data directory {}: {e}; set SCIMDESK_DATA_DIR to a writable \
                 directory",
                data_dir.display()
            )
        })?;
        Embedded::start_on(&DbTarget::Sqlite(data_dir.join("embedded.db"))).await
    }

    /// As [`Embedded::start`], on the database `db` names (the tests run the console on
    /// either engine through it).
    pub async fn start_on(db: &DbTarget) -> Result<Embedded, String> {
        let store = AnyStore::open(db)
            .await
            .map_err(|e| format!("cannot open the database {db}: {e}"))?;
        let demo = ensure_demo(&store)
            .await
            .map_err(|e| format!("cannot create the demo organization: {e}"))?;
        let issued = store
            .create_admin_token(demo.org.id, DEMO_OWNER, TOKEN_LABEL, DEMO_OWNER)
            .await
            .map_err(|e| format!("cannot mint an admin token for the console: {e}"))?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("cannot listen on 127.0.0.1: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("cannot read the listening address: {e}"))?;
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(run_server(
            listener,
            store.clone(),
            ServerConfig::default(),
            async move {
                let _ = rx.await;
            },
        ));
        Ok(Embedded {
            base_url: format!("http://{addr}"),
            org_uid: demo.org.uid,
            db: db.clone(),
            token: issued.token,
            token_id: issued.id,
            org_id: demo.org.id,
            store,
            stop: Some(tx),
            server: Some(server),
        })
    }

    /// Revokes this run's token, stops the server and closes the database.
    pub async fn stop(mut self) {
        let _ = self
            .store
            .revoke_admin_token(self.org_id, &self.token_id, DEMO_OWNER)
            .await;
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.server.take() {
            let _ = h.await;
        }
        self.store.close().await;
    }
}
