//! A small blocking HTTP/1.1 client for a node's API: `http://` only, one connection per request,
//! every size bounded before anything is allocated for it. Nothing it returns is trusted: callers
//! verify what they read. With a member organisation's key ([`Endpoint::signed_by`]) every
//! request carries an RFC 9421 signature (PROTOCOL.md 12), for nodes that serve reads to
//! members only (`[api] read_access`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tradelog_protocol::{httpsig, SecretKey};

/// Largest response body accepted (a route bundle may hold several large bundles).
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;
/// Largest status line plus headers accepted.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Connect and per-read timeout.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// Why a request failed at the transport level.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The endpoint is not an `http://host:port` URL.
    #[error(
        "endpoint {0:?}: expected http://host:port (https is not supported; use a local TLS proxy)"
    )]
    Endpoint(String),
    /// Could not connect or exchange bytes.
    #[error("{endpoint}: {source}")]
    Io {
        /// The endpoint.
        endpoint: String,
        /// The failure.
        source: std::io::Error,
    },
    /// The response is not well-formed HTTP or exceeds a limit.
    #[error("{endpoint}: malformed response: {reason}")]
    Malformed {
        /// The endpoint.
        endpoint: String,
        /// What was wrong.
        reason: String,
    },
}

/// A response: status and body.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// The body, de-chunked.
    pub body: Vec<u8>,
    /// The header lines, names in lowercase, in order.
    pub headers: Vec<(String, String)>,
}

impl Response {
    /// The value of the first header `name` (lowercase), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// How long a request signature is valid, seconds (the node allows at most
/// [`httpsig::MAX_VALIDITY_SECS`]).
pub const SIGNATURE_VALIDITY_SECS: u64 = 60;

/// A node's API base address, and the key its requests are signed with, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    host: String,
    port: u16,
    base: String,
    signer: Option<Signer>,
}

/// A request-signing key; compared by its public half, never printed.
#[derive(Debug, Clone)]
struct Signer(Arc<SecretKey>);

impl PartialEq for Signer {
    fn eq(&self, other: &Signer) -> bool {
        self.0.public() == other.0.public()
    }
}

impl Eq for Signer {}

/// The `Signature-Input` and `Signature` header lines of a request by `key`, valid from now
/// for [`SIGNATURE_VALIDITY_SECS`], with a random nonce.
fn signature_lines(key: &SecretKey, method: &str, authority: &str, target: &str) -> String {
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut seed = [0u8; 12];
    let nonce = getrandom::getrandom(&mut seed)
        .ok()
        .map(|()| hex::encode(seed));
    let req = httpsig::Request {
        method,
        authority,
        path,
        query,
    };
    match httpsig::sign(
        key,
        &req,
        now,
        now + SIGNATURE_VALIDITY_SECS,
        nonce.as_deref(),
    ) {
        Ok(h) => format!(
            "Signature-Input: {}\r\nSignature: {}\r\n",
            h.signature_input, h.signature
        ),
        // Not reached (a hex nonce and a window within the limit); the node answers 401.
        Err(_) => String::new(),
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "http://{}:{}{}", self.host, self.port, self.base)
    }
}

impl std::str::FromStr for Endpoint {
    type Err = HttpError;

    fn from_str(s: &str) -> Result<Endpoint, HttpError> {
        let bad = || HttpError::Endpoint(s.to_owned());
        let rest = s.strip_prefix("http://").ok_or_else(bad)?;
        let (authority, base) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().map_err(|_| bad())?),
            None => (authority, 80),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let printable = |c: char| c.is_ascii_graphic() && c != '/';
        if host.is_empty()
            || !host.chars().all(printable)
            || !base.chars().all(|c| c.is_ascii_graphic())
        {
            return Err(bad());
        }
        Ok(Endpoint {
            host: host.to_owned(),
            port,
            base: base.to_owned(),
            signer: None,
        })
    }
}

impl Endpoint {
    /// This endpoint with every request signed by `key` (a member organisation's event key).
    pub fn signed_by(mut self, key: SecretKey) -> Endpoint {
        self.signer = Some(Signer(Arc::new(key)));
        self
    }

    /// `GET base + path`.
    pub fn get(&self, path: &str) -> Result<Response, HttpError> {
        self.request("GET", path, None)
    }

    /// `POST base + path` with a JSON body.
    pub fn post_json(&self, path: &str, body: &[u8]) -> Result<Response, HttpError> {
        self.request("POST", path, Some(body))
    }

    fn io(&self, source: std::io::Error) -> HttpError {
        HttpError::Io {
            endpoint: self.to_string(),
            source,
        }
    }

    fn malformed(&self, reason: impl Into<String>) -> HttpError {
        HttpError::Malformed {
            endpoint: self.to_string(),
            reason: reason.into(),
        }
    }

    fn connect(&self) -> Result<TcpStream, HttpError> {
        let addrs = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| self.io(e))?;
        let mut last = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, TIMEOUT) {
                Ok(s) => return Ok(s),
                Err(e) => last = Some(e),
            }
        }
        Err(self.io(
            last.unwrap_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no address"))
        ))
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<Response, HttpError> {
        let mut stream = self.connect()?;
        stream
            .set_read_timeout(Some(TIMEOUT))
            .and_then(|()| stream.set_write_timeout(Some(TIMEOUT)))
            .map_err(|e| self.io(e))?;
        let authority = format!("{}:{}", self.host, self.port);
        let target = format!("{}{path}", self.base);
        let mut req = format!(
            "{method} {target} HTTP/1.1\r\nHost: {authority}\r\nAccept: application/json\r\nConnection: close\r\n",
        );
        if let Some(Signer(key)) = &self.signer {
            req.push_str(&signature_lines(key, method, &authority, &target));
        }
        if let Some(b) = body {
            req.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                b.len()
            ));
        }
        req.push_str("\r\n");
        stream.write_all(req.as_bytes()).map_err(|e| self.io(e))?;
        if let Some(b) = body {
            stream.write_all(b).map_err(|e| self.io(e))?;
        }
        stream.flush().map_err(|e| self.io(e))?;
        self.read_response(BufReader::new(stream))
    }

    fn read_line(&self, r: &mut impl BufRead, budget: &mut usize) -> Result<String, HttpError> {
        let mut line = Vec::new();
        let n = r
            .take(*budget as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| self.io(e))?;
        if n > *budget {
            return Err(self.malformed(format!("headers exceed {MAX_HEAD_BYTES} bytes")));
        }
        *budget -= n;
        if !line.ends_with(b"\n") {
            return Err(self.malformed("connection closed inside the headers"));
        }
        String::from_utf8(line)
            .map(|l| l.trim_end().to_owned())
            .map_err(|_| self.malformed("header is not UTF-8"))
    }

    /// Reads one response (status line, headers, a body by length, chunks or until close) from
    /// `r`: the parser [`Endpoint::get`] and [`Endpoint::post_json`] use on what a node sends,
    /// public so that it can be fuzzed (`client/fuzz`, target `http_response`).
    pub fn read_response(&self, mut r: impl BufRead) -> Result<Response, HttpError> {
        let mut budget = MAX_HEAD_BYTES;
        let status_line = self.read_line(&mut r, &mut budget)?;
        let mut parts = status_line.splitn(3, ' ');
        let status = match (parts.next(), parts.next()) {
            (Some(v), Some(code)) if v.starts_with("HTTP/1.") => code
                .parse::<u16>()
                .map_err(|_| self.malformed(format!("status line {status_line:?}")))?,
            _ => return Err(self.malformed(format!("status line {status_line:?}"))),
        };
        let (mut length, mut chunked) = (None, false);
        let mut headers = Vec::new();
        loop {
            let line = self.read_line(&mut r, &mut budget)?;
            if line.is_empty() {
                break;
            }
            let Some((name, value)) = line.split_once(':') else {
                return Err(self.malformed(format!("header line {line:?}")));
            };
            let value = value.trim();
            headers.push((name.to_ascii_lowercase(), value.to_owned()));
            if name.eq_ignore_ascii_case("content-length") {
                let n: usize = value
                    .parse()
                    .map_err(|_| self.malformed(format!("content-length {value:?}")))?;
                length = Some(n);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            }
        }
        let body = if chunked {
            self.read_chunked(&mut r)?
        } else if let Some(n) = length {
            if n > MAX_RESPONSE_BYTES {
                return Err(self.malformed(format!(
                    "body of {n} bytes exceeds the limit of {MAX_RESPONSE_BYTES}"
                )));
            }
            // Grown as bytes arrive: a declared length alone allocates nothing.
            let mut body = Vec::new();
            r.take(n as u64)
                .read_to_end(&mut body)
                .map_err(|e| self.io(e))?;
            if body.len() != n {
                return Err(
                    self.malformed(format!("body ended after {} of its {n} bytes", body.len()))
                );
            }
            body
        } else {
            let mut body = Vec::new();
            r.take(MAX_RESPONSE_BYTES as u64 + 1)
                .read_to_end(&mut body)
                .map_err(|e| self.io(e))?;
            if body.len() > MAX_RESPONSE_BYTES {
                return Err(
                    self.malformed(format!("body exceeds the limit of {MAX_RESPONSE_BYTES}"))
                );
            }
            body
        };
        Ok(Response {
            status,
            body,
            headers,
        })
    }

    fn read_chunked(&self, r: &mut impl BufRead) -> Result<Vec<u8>, HttpError> {
        let mut body = Vec::new();
        loop {
            let mut budget = 1024;
            let line = self.read_line(r, &mut budget)?;
            let size_hex = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_hex, 16)
                .map_err(|_| self.malformed(format!("chunk size {line:?}")))?;
            if size == 0 {
                // Trailers, then the final empty line.
                let mut budget = MAX_HEAD_BYTES;
                while !self.read_line(r, &mut budget)?.is_empty() {}
                return Ok(body);
            }
            if body.len().saturating_add(size) > MAX_RESPONSE_BYTES {
                return Err(
                    self.malformed(format!("body exceeds the limit of {MAX_RESPONSE_BYTES}"))
                );
            }
            let start = body.len();
            r.take(size as u64)
                .read_to_end(&mut body)
                .map_err(|e| self.io(e))?;
            if body.len() - start != size {
                return Err(self.malformed(format!(
                    "chunk ended after {} of its {size} bytes",
                    body.len() - start
                )));
            }
            let mut crlf = [0u8; 2];
            r.read_exact(&mut crlf).map_err(|e| self.io(e))?;
            if &crlf != b"\r\n" {
                return Err(self.malformed("chunk not followed by CRLF"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a one-shot server on 127.0.0.1:0 received, answering 200 `{}`.
    fn capture(call: impl FnOnce(Endpoint)) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && s.read(&mut byte).unwrap() == 1 {
                head.push(byte[0]);
            }
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
                .unwrap();
            String::from_utf8(head).unwrap()
        });
        call(format!("http://127.0.0.1:{port}/api").parse().unwrap());
        server.join().unwrap()
    }

    fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
        head.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(": "))
    }

    #[test]
    fn requests_are_signed_with_the_key_and_verify_as_the_node_checks_them() {
        let key = SecretKey::from_seed(&[5; 32]);
        let head = capture(|e| {
            let r = e
                .signed_by(key.clone())
                .get("/v1/consignments/U?x=1")
                .unwrap();
            assert_eq!(r.status, 200);
        });
        let (input, sig) = (
            header(&head, "Signature-Input").expect("signed"),
            header(&head, "Signature").unwrap(),
        );
        let signed = httpsig::parse(input, sig).unwrap();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let req = httpsig::Request {
            method: "GET",
            authority: header(&head, "Host").unwrap(),
            path: "/api/v1/consignments/U",
            query: Some("x=1"),
        };
        assert_eq!(signed.verify(&req, now).unwrap(), key.public());
        assert_eq!(signed.nonce().map(str::len), Some(24));
        // Another path does not verify: the signature is bound to this request.
        let other = httpsig::Request {
            path: "/api/v1/consignments/V",
            ..req
        };
        assert!(signed.verify(&other, now).is_err());
        // Without a key nothing is signed.
        let head = capture(|e| {
            e.get("/v1/head").unwrap();
        });
        assert!(header(&head, "Signature-Input").is_none(), "{head}");
    }

    #[test]
    fn endpoints_parse_or_name_the_problem() {
        let e: Endpoint = "http://127.0.0.1:7100".parse().unwrap();
        assert_eq!(e.to_string(), "http://127.0.0.1:7100");
        let e: Endpoint = "http://node.example/api/".parse().unwrap();
        assert_eq!(e.to_string(), "http://node.example:80/api");
        for bad in [
            "https://x:1",
            "127.0.0.1:7100",
            "http://:80",
            "http://h:99999",
            "http://h h:1",
        ] {
            assert!(bad.parse::<Endpoint>().is_err(), "{bad}");
        }
    }

    fn parse(raw: &[u8]) -> Result<Response, HttpError> {
        let e: Endpoint = "http://h:1".parse().unwrap();
        e.read_response(std::io::Cursor::new(raw.to_vec()))
    }

    #[test]
    fn responses_with_length_chunks_or_close() {
        let r = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello").unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"hello"[..]));
        let r = parse(b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
            .unwrap();
        assert_eq!((r.status, r.body.as_slice()), (404, &b"abcde"[..]));
        let r = parse(b"HTTP/1.0 200 OK\r\n\r\nuntil close").unwrap();
        assert_eq!(r.body, b"until close");
    }

    #[test]
    fn malformed_and_oversized_responses_are_refused() {
        assert!(parse(b"SMTP 220 hi\r\n\r\n").is_err());
        assert!(parse(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort").is_err());
        // A length or chunk size near the limit with a few bytes behind it is refused by what
        // arrives; nothing of the declared size is allocated first (a node could make the
        // client reserve 256 MiB per request with a few bytes).
        let claim = format!("HTTP/1.1 200 OK\r\nContent-Length: {MAX_RESPONSE_BYTES}\r\n\r\nshort");
        let e = parse(claim.as_bytes()).unwrap_err().to_string();
        assert!(
            e.contains(&format!(
                "body ended after 5 of its {MAX_RESPONSE_BYTES} bytes"
            )),
            "{e}"
        );
        let e = parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffff\r\nabc")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("chunk ended after 3 of its 268435455 bytes"),
            "{e}"
        );
        let huge = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
            MAX_RESPONSE_BYTES + 1
        );
        assert!(matches!(
            parse(huge.as_bytes()),
            Err(HttpError::Malformed { .. })
        ));
        let mut long = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        long.extend(std::iter::repeat_n(b'a', MAX_HEAD_BYTES));
        long.extend(b"\r\n\r\n");
        assert!(matches!(parse(&long), Err(HttpError::Malformed { .. })));
        assert!(parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").is_err());
        assert!(
            parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXX0\r\n\r\n")
                .is_err()
        );
    }
}
