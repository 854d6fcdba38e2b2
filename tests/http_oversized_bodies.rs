//! A body over the limit gets its 413 even when the client writes the whole body before it
//! reads anything (Python's urllib, many Java clients): the server reads and drops a bounded
//! amount of it instead of closing on unread data, which would reset the connection under
//! the client's write. Tested with a raw socket that does exactly that, on both APIs.

mod common;

use common::*;
use serde_json::Value;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const MIB: usize = 1024 * 1024;

/// Only keeps a broken server from hanging the run; no test asserts a duration.
const CAP: Duration = Duration::from_secs(60);

struct Raw {
    status: u16,
    head: String,
    body: Value,
}

/// Reads one response: the head, then the body by its Content-Length.
async fn read_response(sock: &mut TcpStream) -> std::io::Result<Raw> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::other(format!(
                "closed before a response head: {:?}",
                String::from_utf8_lossy(&buf)
            )));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let status = head[9..12].parse().expect("a status code");
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = serde_json::from_slice(&buf[head_end..]).unwrap_or(Value::Null);
    Ok(Raw { status, head, body })
}

/// A connection whose send buffer is small, as over a real network: on loopback the kernel
/// would otherwise take megabytes of the body off the client's hands before the server reads
/// any of it, and a server that closes on unread data would go unnoticed.
async fn connect(addr: &str) -> std::io::Result<TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_send_buffer_size(64 * 1024)?;
    socket.connect(addr.parse().expect("an address")).await
}

/// Writes the whole request, head and body, and only then reads the answer.
async fn write_all_then_read(addr: &str, head: String, body: &[u8]) -> std::io::Result<Raw> {
    let mut sock = connect(addr).await?;
    sock.write_all(head.as_bytes()).await?;
    sock.write_all(body).await?;
    read_response(&mut sock).await
}

fn addr(env: &Env) -> String {
    env.server.base.trim_start_matches("http://").to_string()
}

/// A JSON object of exactly `size` bytes.
fn json_of(size: usize) -> Vec<u8> {
    let mut body = b"{\"displayName\": \"".to_vec();
    body.resize(size - 2, b'x');
    body.extend_from_slice(b"\"}");
    body
}

fn post_head(path: &str, token: &str, extra: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/scim+json\r\n{extra}\r\n"
    )
}

#[tokio::test]
async fn a_client_that_writes_a_whole_oversized_body_first_reads_the_413() {
    let env = Env::new().await;
    let scim = format!("/scim/v2.0/organizations/{}/Users", env.org.uid);
    for size in [MIB + 1, 3 * MIB, 6 * MIB] {
        let body = json_of(size);
        let head = post_head(
            &scim,
            &env.org.scim_token,
            &format!("Content-Length: {size}\r\n"),
        );
        let r = tokio::time::timeout(CAP, write_all_then_read(&addr(&env), head, &body))
            .await
            .expect("an answer")
            .unwrap_or_else(|e| panic!("{size} bytes: the client saw {e} instead of the 413"));
        assert_eq!(r.status, 413, "{}", r.head);
        assert_eq!(r.body["status"], "413", "{}", r.body);
        assert_eq!(
            r.body["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
    }
    // The same on the admin API, with its own error shape.
    let admin = format!("/admin/v1/organizations/{}/scim/tokens", env.org.uid);
    let size = 2 * MIB;
    let head = post_head(
        &admin,
        &env.org.admin_token,
        &format!("Content-Length: {size}\r\n"),
    );
    let r = tokio::time::timeout(CAP, write_all_then_read(&addr(&env), head, &json_of(size)))
        .await
        .expect("an answer")
        .expect("the admin API's 413");
    assert_eq!(r.status, 413, "{}", r.head);
    assert_eq!(r.body["error"], "payload_too_large", "{}", r.body);
    // Nothing was created by either.
    let r = send(env.scim(reqwest::Method::GET, "/Users")).await;
    assert_eq!(r.body["totalResults"], 0);
}

#[tokio::test]
async fn a_chunked_oversized_body_written_whole_first_gets_the_413_too() {
    let env = Env::new().await;
    let scim = format!("/scim/v2.0/organizations/{}/Groups", env.org.uid);
    let mut body = Vec::new();
    for piece in json_of(3 * MIB).chunks(64 * 1024) {
        body.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        body.extend_from_slice(piece);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"0\r\n\r\n");
    let head = post_head(&scim, &env.org.scim_token, "Transfer-Encoding: chunked\r\n");
    let r = tokio::time::timeout(CAP, write_all_then_read(&addr(&env), head, &body))
        .await
        .expect("an answer")
        .expect("the 413");
    assert_eq!(r.status, 413, "{}", r.head);
    assert_eq!(r.body["status"], "413");
}

#[tokio::test]
async fn a_body_too_large_to_drain_or_not_yet_sent_is_answered_without_reading_it() {
    let env = Env::new().await;
    let scim = format!("/scim/v2.0/organizations/{}/Users", env.org.uid);
    // A client that announces a gigabyte and waits: the answer comes without the body.
    // So does one that asks for 100-continue: it is told 413 instead of being asked to send.
    for extra in [
        "Content-Length: 1073741824\r\n".to_string(),
        format!("Content-Length: {}\r\nExpect: 100-continue\r\n", 3 * MIB),
    ] {
        let mut sock = connect(&addr(&env)).await.unwrap();
        sock.write_all(post_head(&scim, &env.org.scim_token, &extra).as_bytes())
            .await
            .unwrap();
        let r = tokio::time::timeout(CAP, read_response(&mut sock))
            .await
            .expect("an answer before any body byte")
            .expect("a response");
        assert_eq!(r.status, 413, "{extra}: {}", r.head);
        assert_eq!(r.body["status"], "413");
        assert!(
            r.head.to_ascii_lowercase().contains("connection: close"),
            "the body is still to come, so the connection cannot go on: {}",
            r.head
        );
        assert!(!r.head.starts_with("HTTP/1.1 100"), "{}", r.head);
    }
}

#[tokio::test]
async fn a_connection_whose_oversized_body_was_drained_serves_the_next_request() {
    let env = Env::new().await;
    let users = format!("/scim/v2.0/organizations/{}/Users", env.org.uid);
    let mut sock = connect(&addr(&env)).await.unwrap();
    let size = 2 * MIB;
    let head = post_head(
        &users,
        &env.org.scim_token,
        &format!("Content-Length: {size}\r\n"),
    );
    sock.write_all(head.as_bytes()).await.unwrap();
    sock.write_all(&json_of(size)).await.unwrap();
    let r = tokio::time::timeout(CAP, read_response(&mut sock))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.status, 413, "{}", r.head);
    // The body was read to its last byte, so the next request on the connection is whole.
    let get = format!(
        "GET {users} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\n\r\n",
        env.org.scim_token
    );
    sock.write_all(get.as_bytes()).await.unwrap();
    let r = tokio::time::timeout(CAP, read_response(&mut sock))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.body["totalResults"], 0);
}

#[tokio::test]
async fn refusals_before_the_body_is_read_let_the_client_finish_writing_too() {
    let env = Env::new().await;
    let users = format!("/scim/v2.0/organizations/{}/Users", env.org.uid);
    let size = 3 * MIB / 4;
    // A body within the limit, refused before it is read: a wrong token, a wrong media type,
    // a method the path does not take, and a path that does not exist.
    let cases = [
        (
            users.clone(),
            "scimdesk_scim_wrong",
            "application/scim+json",
            "POST",
            401,
        ),
        (
            users.clone(),
            env.org.scim_token.as_str(),
            "text/plain",
            "POST",
            415,
        ),
        (
            users.clone(),
            env.org.scim_token.as_str(),
            "application/json",
            "DELETE",
            405,
        ),
        (
            "/nowhere".to_string(),
            env.org.scim_token.as_str(),
            "application/json",
            "POST",
            404,
        ),
    ];
    for (path, token, media, method, status) in cases {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: {media}\r\nContent-Length: {size}\r\n\r\n"
        );
        let r = tokio::time::timeout(CAP, write_all_then_read(&addr(&env), head, &json_of(size)))
            .await
            .expect("an answer")
            .unwrap_or_else(|e| panic!("{method} {path}: the client saw {e}"));
        assert_eq!(r.status, status, "{method} {path}: {}", r.head);
    }
}
