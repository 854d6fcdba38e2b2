//! Runs the update's commands: backend calls in tokio tasks tagged with their request id,
//! cancellation, OSC 52 copies and exports. Results go back to the loop as `Msg`s.

use super::app::{Cmd, Msg, ReqId};
use super::backend::{Backend, Call, Reply};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::AbortHandle;

/// Where `Cmd::Copy` goes: the terminal (OSC 52, written by the loop through the terminal's
/// own writer, in order with the frames) in the app, a list in tests.
pub enum Clipboard {
    Osc52,
    Memory(Vec<String>),
}

pub struct Effects {
    backend: Arc<dyn Backend>,
    tx: UnboundedSender<Msg>,
    running: HashMap<ReqId, AbortHandle>,
    pub clipboard: Clipboard,
}

impl Effects {
    pub fn new(backend: Arc<dyn Backend>, tx: UnboundedSender<Msg>, clipboard: Clipboard) -> Self {
        Effects {
            backend,
            tx,
            running: HashMap::new(),
            clipboard,
        }
    }

    /// The answer to `id` arrived: its task is over.
    pub fn finished(&mut self, id: ReqId) {
        self.running.remove(&id);
    }

    pub fn in_flight(&self) -> usize {
        self.running.len()
    }

    /// Runs one command; `Quit` is the loop's business and is ignored here.
    pub fn run(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Run { id, call } => {
                let backend = self.backend.clone();
                let tx = self.tx.clone();
                let task = tokio::spawn(async move {
                    let result = backend.call(call).await;
                    let _ = tx.send(Msg::Reply { id, result });
                });
                self.running.insert(id, task.abort_handle());
            }
            Cmd::Cancel(id) => {
                if let Some(task) = self.running.remove(&id) {
                    task.abort();
                }
            }
            // The loop writes copies through the terminal (see `Console::draw`).
            Cmd::Copy(_) => {}
            Cmd::Export {
                id,
                path,
                overwrite,
            } => {
                let backend = self.backend.clone();
                let tx = self.tx.clone();
                let task = tokio::spawn(async move {
                    // A directory is no file to write: say so, rather than ask to overwrite.
                    if tokio::fs::metadata(&path).await.is_ok_and(|m| m.is_dir()) {
                        let result = Err(format!(
                            "{} is a directory: give a file name in it, e.g. {}",
                            path.display(),
                            path.join("snapshot.json").display()
                        ));
                        let _ = tx.send(Msg::Exported { id, result });
                        return;
                    }
                    // A file already there is not replaced without the user's yes (asked by
                    // update on `ExportExists`).
                    if !overwrite && tokio::fs::symlink_metadata(&path).await.is_ok() {
                        let _ = tx.send(Msg::ExportExists { id, path });
                        return;
                    }
                    let result = match backend.call(Call::Export).await {
                        Ok(Reply::Export(doc)) => {
                            let text = serde_json::to_string_pretty(&doc)
                                .unwrap_or_else(|_| doc.to_string());
                            tokio::task::spawn_blocking(move || {
                                // Personal data: 0600 from creation, and atomic.
                                crate::snapshot::file::write_atomic(&path, (text + "\n").as_bytes())
                                    .map(|()| path.display().to_string())
                                    .map_err(|e| format!("cannot write {}: {e}", path.display()))
                            })
                            .await
                            .unwrap_or_else(|e| Err(e.to_string()))
                        }
                        Ok(_) => Err("the server answered something else than a snapshot".into()),
                        Err(e) => Err(e.to_string()),
                    };
                    let _ = tx.send(Msg::Exported { id, result });
                });
                self.running.insert(id, task.abort_handle());
            }
            Cmd::Quit | Cmd::Call { .. } | Cmd::Toast(_) => {}
        }
    }
}

impl Drop for Effects {
    fn drop(&mut self) {
        for (_, t) in self.running.drain() {
            t.abort();
        }
    }
}

/// The OSC 52 sequence that asks the user's terminal (even across SSH) to set its clipboard.
pub fn osc52(text: &str) -> String {
    format!("\x1b]52;c;{}\x07", base64(text.as_bytes()))
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Nothing;
    impl Backend for Nothing {
        fn server(&self) -> String {
            "nothing".into()
        }
        fn org(&self) -> String {
            "nothing".into()
        }
        fn read_only(&self) -> bool {
            true
        }
        fn call(
            &self,
            _: Call,
        ) -> super::super::backend::BoxFuture<'_, Result<Reply, crate::client::ApiError>> {
            Box::pin(async {
                Err(crate::client::ApiError::NotFound {
                    message: "no".into(),
                })
            })
        }
    }

    /// Issue 24, item 11: `:export DIR` says it is a directory instead of asking Overwrite.
    #[tokio::test]
    async fn exporting_onto_a_directory_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut fx = Effects::new(Arc::new(Nothing), tx, Clipboard::Memory(Vec::new()));
        fx.run(Cmd::Export {
            id: ReqId(1),
            path: dir.path().to_path_buf(),
            overwrite: false,
        });
        match rx.recv().await {
            Some(Msg::Exported { result: Err(e), .. }) => {
                assert!(e.contains("is a directory"), "{e}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn osc52_carries_base64_of_the_text() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(osc52("hi"), "\x1b]52;c;aGk=\x07");
    }
}
