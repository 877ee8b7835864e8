//! A lying node for light-client tests: an HTTP proxy in front of a node's API that rewrites
//! each answer with the current [`Lie`] (honest until told otherwise).
// Test support: a proxy that cannot bind fails the calling test.
#![allow(clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex, PoisonError};

use tradelog_node::devnet::http;

/// A lie: `(path, honest status, honest body) -> (status, body)`.
pub type Lie = Box<dyn Fn(&str, u16, Vec<u8>) -> (u16, Vec<u8>) + Send + Sync>;

/// An HTTP proxy in front of a node that rewrites answers with the current lie.
pub struct Proxy {
    addr: String,
    lie: Arc<Mutex<Lie>>,
}

impl Proxy {
    /// Starts a proxy in front of the node API at `node` (`host:port`), honest at first.
    pub fn start(node: &str) -> Proxy {
        let listener =
            TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("proxy bind: {e}"));
        let addr = listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|e| panic!("proxy address: {e}"));
        let honest: Lie = Box::new(|_, s, b| (s, b));
        let lie = Arc::new(Mutex::new(honest));
        let upstream = node.to_owned();
        let shared = lie.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let Ok(read_half) = stream.try_clone() else {
                    continue;
                };
                let mut reader = BufReader::new(read_half);
                let mut first = String::new();
                if reader.read_line(&mut first).is_err() {
                    continue;
                }
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                }
                let path = first.split(' ').nth(1).unwrap_or("/").to_owned();
                let (status, body) = match http(&upstream, "GET", &path, None) {
                    Ok((status, body)) => {
                        let lie = shared.lock().unwrap_or_else(PoisonError::into_inner);
                        lie(&path, status, body)
                    }
                    Err(e) => (502, e.to_string().into_bytes()),
                };
                let head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
            }
        });
        Proxy { addr, lie }
    }

    /// Lies from now on with `lie`.
    pub fn set(&self, lie: Lie) {
        *self.lie.lock().unwrap_or_else(PoisonError::into_inner) = lie;
    }

    /// The proxy's URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// A lie that edits the JSON answers (status 200) of paths containing `on`.
pub fn edit(on: &'static str, f: impl Fn(&mut serde_json::Value) + Send + Sync + 'static) -> Lie {
    Box::new(move |path, status, body| {
        if !path.contains(on) || status != 200 {
            return (status, body);
        }
        let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&body) else {
            return (status, body);
        };
        f(&mut v);
        (status, serde_json::to_vec(&v).unwrap_or(body))
    })
}
