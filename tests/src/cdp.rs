//! A headless Chromium driven over the DevTools protocol, as a user would use a page: real key
//! and mouse events dispatched by the browser's input pipeline (`Input.dispatchKeyEvent`,
//! `Input.dispatchMouseEvent`), not scripted `value =` assignments or URL fragments.
//!
//! Transport: `--remote-debugging-pipe`, which speaks the protocol as NUL-terminated JSON
//! messages on the browser's file descriptors 3 (commands in) and 4 (replies and events out).
//! No websocket client is needed: `sh` connects two FIFOs to those descriptors and `exec`s the
//! browser. Every wait is bounded, and the browser is killed when the [`Browser`] is dropped.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// How long one protocol command may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Why driving the browser failed.
#[derive(Debug)]
pub struct CdpError(pub String);

impl std::fmt::Display for CdpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn err(m: impl Into<String>) -> CdpError {
    CdpError(m.into())
}

/// A headless Chromium with one page attached.
pub struct Browser {
    child: Child,
    commands: File,
    replies: Receiver<Value>,
    next_id: u64,
    session: String,
    stderr: PathBuf,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A key as `Input.dispatchKeyEvent` describes it: `key`, `code`, Windows virtual key code and
/// the text it types.
fn key_params(c: char) -> (String, String, u32, Option<String>) {
    match c {
        '\n' => ("Enter".into(), "Enter".into(), 13, Some("\r".into())),
        '\t' => ("Tab".into(), "Tab".into(), 9, None),
        c if c.is_ascii_alphabetic() => (
            c.to_string(),
            format!("Key{}", c.to_ascii_uppercase()),
            u32::from(c.to_ascii_uppercase()),
            Some(c.to_string()),
        ),
        c if c.is_ascii_digit() => (
            c.to_string(),
            format!("Digit{c}"),
            u32::from(c),
            Some(c.to_string()),
        ),
        '-' => ("-".into(), "Minus".into(), 189, Some("-".into())),
        c => (c.to_string(), String::new(), 0, Some(c.to_string())),
    }
}

impl Browser {
    /// Starts `browser` headless with a fresh profile under `dir` and opens a blank page of
    /// `width` x `height` CSS pixels.
    pub fn launch(
        browser: &Path,
        dir: &Path,
        width: u32,
        height: u32,
    ) -> Result<Browser, CdpError> {
        let fifo_in = dir.join("cdp-in");
        let fifo_out = dir.join("cdp-out");
        for f in [&fifo_in, &fifo_out] {
            let _ = std::fs::remove_file(f);
            let ok = Command::new("mkfifo")
                .arg(f)
                .status()
                .map_err(|e| err(format!("mkfifo: {e}")))?;
            if !ok.success() {
                return Err(err(format!("mkfifo {} failed", f.display())));
            }
        }
        let stderr = dir.join("chromium.stderr");
        let child = Command::new("sh")
            .arg("-c")
            .arg(r#"exec "$@" 3<"$TL_CDP_IN" 4>"$TL_CDP_OUT""#)
            .arg("sh")
            .arg(browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-pipe",
            ])
            .arg(format!(
                "--user-data-dir={}",
                dir.join("chromium-profile").display()
            ))
            .arg(format!("--window-size={width},{height}"))
            .arg("about:blank")
            .env("TL_CDP_IN", &fifo_in)
            .env("TL_CDP_OUT", &fifo_out)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&stderr).map_err(|e| err(format!("{}: {e}", stderr.display())))?)
            .spawn()
            .map_err(|e| err(format!("cannot start {}: {e}", browser.display())))?;
        // Opening a FIFO blocks until its other end is opened: open both in the order the
        // shell does, on a thread, so a browser that never starts is a timeout, not a hang.
        let (opened_tx, opened_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let opened = std::fs::OpenOptions::new()
                .write(true)
                .open(&fifo_in)
                .and_then(|w| File::open(&fifo_out).map(|r| (w, r)));
            let _ = opened_tx.send(opened);
        });
        let (commands, replies_pipe) = opened_rx
            .recv_timeout(CALL_TIMEOUT)
            .map_err(|_| err("the browser did not open its DevTools pipe"))?
            .map_err(|e| err(format!("DevTools pipe: {e}")))?;
        let (tx, replies) = mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(replies_pipe);
            loop {
                let mut msg = Vec::new();
                match r.read_until(0, &mut msg) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                msg.pop();
                let Ok(v) = serde_json::from_slice::<Value>(&msg) else {
                    continue;
                };
                // Only replies carry an id; events are not used.
                if v.get("id").is_some() && tx.send(v).is_err() {
                    return;
                }
            }
        });
        let mut b = Browser {
            child,
            commands,
            replies,
            next_id: 0,
            session: String::new(),
            stderr,
        };
        let target = b.call("Target.createTarget", json!({"url": "about:blank"}))?;
        let target = target["targetId"].clone();
        let attached = b.call(
            "Target.attachToTarget",
            json!({"targetId": target, "flatten": true}),
        )?;
        b.session = attached["sessionId"]
            .as_str()
            .ok_or_else(|| err(format!("no session: {attached}")))?
            .to_owned();
        Ok(b)
    }

    /// Sends one command (to the page once attached) and waits for its reply's `result`.
    pub fn call(&mut self, method: &str, params: Value) -> Result<Value, CdpError> {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if !self.session.is_empty() {
            msg["sessionId"] = Value::String(self.session.clone());
        }
        let mut bytes = msg.to_string().into_bytes();
        bytes.push(0);
        self.commands
            .write_all(&bytes)
            .map_err(|e| err(format!("{method}: {e}; {}", self.stderr_tail())))?;
        let deadline = Instant::now() + CALL_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let reply = self
                .replies
                .recv_timeout(left)
                .map_err(|_| err(format!("{method}: no reply; {}", self.stderr_tail())))?;
            if reply["id"] != id {
                continue;
            }
            if let Some(e) = reply.get("error") {
                return Err(err(format!("{method}: {e}")));
            }
            return Ok(reply["result"].clone());
        }
    }

    fn stderr_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        let lines: Vec<&str> = text.lines().rev().take(5).collect();
        format!(
            "browser stderr: {}",
            lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
        )
    }

    /// Loads `url` in the page and waits until the document is complete.
    pub fn navigate(&mut self, url: &str) -> Result<(), CdpError> {
        self.call("Page.navigate", json!({"url": url}))?;
        self.wait_for(
            "document.readyState === 'complete'",
            Duration::from_secs(30),
        )
    }

    /// Evaluates a JavaScript expression in the page, returning its JSON value.
    pub fn eval(&mut self, expression: &str) -> Result<Value, CdpError> {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
        )?;
        if let Some(e) = r.get("exceptionDetails") {
            return Err(err(format!("{expression}: {e}")));
        }
        Ok(r["result"]["value"].clone())
    }

    /// Polls `expression` until it is `true`.
    pub fn wait_for(&mut self, expression: &str, timeout: Duration) -> Result<(), CdpError> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.eval(expression)? == Value::Bool(true) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(err(format!("timed out waiting for {expression}")));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Presses and releases one key: a character, `'\n'` (Enter) or `'\t'` (Tab).
    pub fn press(&mut self, c: char) -> Result<(), CdpError> {
        let (key, code, vk, text) = key_params(c);
        let mut down = json!({"type": "keyDown", "key": key, "code": code,
            "windowsVirtualKeyCode": vk, "nativeVirtualKeyCode": vk});
        if let Some(t) = text {
            down["text"] = Value::String(t.clone());
            down["unmodifiedText"] = Value::String(t);
        } else {
            down["type"] = Value::String("rawKeyDown".into());
        }
        self.call("Input.dispatchKeyEvent", down)?;
        self.call(
            "Input.dispatchKeyEvent",
            json!({"type": "keyUp", "key": key, "code": code,
                "windowsVirtualKeyCode": vk, "nativeVirtualKeyCode": vk}),
        )?;
        Ok(())
    }

    /// Types `text` key by key into whatever has the focus.
    pub fn type_text(&mut self, text: &str) -> Result<(), CdpError> {
        text.chars().try_for_each(|c| self.press(c))
    }

    /// Clicks (left button) at page coordinates `(x, y)` in CSS pixels.
    pub fn click(&mut self, x: f64, y: f64) -> Result<(), CdpError> {
        for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
            )?;
        }
        Ok(())
    }

    /// The accessibility tree's `(role, name)` of every node that has a role.
    pub fn accessibility(&mut self) -> Result<Vec<(String, String)>, CdpError> {
        let tree = self.call("Accessibility.getFullAXTree", json!({}))?;
        let nodes = tree["nodes"]
            .as_array()
            .ok_or_else(|| err(format!("no accessibility tree: {tree}")))?;
        Ok(nodes
            .iter()
            .filter_map(|n| {
                let role = n["role"]["value"].as_str()?;
                let name = n["name"]["value"].as_str().unwrap_or("");
                Some((role.to_owned(), name.to_owned()))
            })
            .collect())
    }

    /// A PNG screenshot of the page.
    pub fn screenshot(&mut self) -> Result<Vec<u8>, CdpError> {
        let shot = self.call("Page.captureScreenshot", json!({"format": "png"}))?;
        let data = shot["data"]
            .as_str()
            .ok_or_else(|| err("screenshot without data"))?;
        base64_decode(data).ok_or_else(|| err("screenshot data is not base64"))
    }

    /// Closes the browser and waits for it to exit.
    pub fn close(mut self) -> Result<(), CdpError> {
        self.session.clear();
        let _ = self.call("Browser.close", json!({}));
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(err("the browser did not exit after Browser.close"))
    }
}

/// Standard base64 (RFC 4648, with padding), as `Page.captureScreenshot` encodes.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        Some(u32::from(v))
    };
    let bytes = s.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= value(c)? << (18 - 6 * i);
        }
        let take = match chunk.len() {
            4 => 3,
            3 => 2,
            2 => 1,
            _ => return None,
        };
        out.extend_from_slice(&n.to_be_bytes()[1..=take]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::base64_decode;

    #[test]
    fn base64_table() {
        for (enc, dec) in [
            ("", &b""[..]),
            ("Zg==", b"f"),
            ("Zm8=", b"fo"),
            ("Zm9v", b"foo"),
            ("Zm9vYmFy", b"foobar"),
            ("iVBORw0KGgo=", b"\x89PNG\r\n\x1a\n"),
        ] {
            assert_eq!(base64_decode(enc).as_deref(), Some(dec), "{enc}");
        }
        assert_eq!(base64_decode("Z"), None);
        assert_eq!(base64_decode("Zm9*"), None);
    }
}
