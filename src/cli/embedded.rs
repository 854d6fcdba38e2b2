//! The embedded default: with no profile, the command line starts the service provider
//! itself for the console (or `export`), on loopback, with SQLite in the user's data dir,
//! seeded with the demo org, and connects as the demo owner through a token minted for this
//! run only. [`with_embedded`] stops it, revoking that token, however the run ends: a return,
//! an error or a panic.

use crate::server::demo::{DEMO_OWNER, ensure_demo};
use crate::server::{ServerConfig, run_server};
use crate::store::prelude::*;
use crate::store::{AnyStore, DbTarget};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};
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
        crate::private_files::create_dir(data_dir).map_err(|e| {
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

/// Starts the embedded server, runs `run` with it, and stops it whatever `run` does: returns,
/// fails, or panics (the panic goes on once the server is stopped and this run's token is
/// revoked, so no owner token outlives its run).
pub async fn with_embedded<T, F, Fut>(data_dir: &Path, run: F) -> Result<T, String>
where
    F: FnOnce(&Embedded) -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let e = Embedded::start(data_dir).await?;
    let outcome = CatchUnwind(Box::pin(run(&e))).await;
    e.stop().await;
    match outcome {
        Ok(result) => result,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// A future whose panic is caught and returned, so that what follows it still runs.
struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn std::any::Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{AdminClient, ApiError};

    fn client(base: &str, org: &str, token: &str) -> AdminClient {
        AdminClient::new(base, org, token.to_string(), "test").unwrap()
    }

    /// The token of a run that ended is refused by the next run's server, on the same data.
    async fn refused_later(dir: &Path, token: &str) {
        let next = Embedded::start(dir).await.unwrap();
        let old = client(&next.base_url, &next.org_uid, token).org().await;
        assert!(matches!(old, Err(ApiError::Unauthorized { .. })), "{old:?}");
        assert!(
            client(&next.base_url, &next.org_uid, &next.token)
                .org()
                .await
                .is_ok()
        );
        next.stop().await;
    }

    #[tokio::test]
    async fn the_runs_token_is_revoked_after_a_return_an_error_and_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let mut seen = String::new();
        let r = with_embedded(dir.path(), |e| {
            seen = e.token.clone();
            let c = client(&e.base_url, &e.org_uid, &e.token);
            async move { c.org().await.map(|_| ()).map_err(|e| e.to_string()) }
        })
        .await;
        assert_eq!(r, Ok(()));
        refused_later(dir.path(), &seen).await;

        let r: Result<(), String> = with_embedded(dir.path(), |e| {
            seen = e.token.clone();
            async { Err("cannot set up the terminal".to_string()) }
        })
        .await;
        assert!(r.is_err());
        refused_later(dir.path(), &seen).await;

        let caught = tokio::spawn({
            let dir = dir.path().to_path_buf();
            async move {
                with_embedded(&dir, |_| async {
                    panic!("the console panicked");
                    #[allow(unreachable_code)]
                    Ok::<(), String>(())
                })
                .await
            }
        })
        .await;
        assert!(caught.unwrap_err().is_panic(), "the panic goes on");
        // No token of that run can be read back from the panic; every console token left
        // in the database must be revoked: only the next run's works.
        let next = Embedded::start(dir.path()).await.unwrap();
        let live = next
            .store
            .list_admin_tokens(next.org_id, 200, None)
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|t| t.label == TOKEN_LABEL)
            .count();
        assert_eq!(live, 1, "only this run's console token is valid");
        next.stop().await;
    }
}
