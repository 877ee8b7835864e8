//! Strict parsing of path and query parameters: each value has one spelling. Numbers are
//! decimal digits without sign or leading zeros (`/v1/blocks/+1` and `/v1/blocks/0001` are not
//! block 1), months are `YYYY-MM` with a month 01-12, and a route takes only its own query
//! parameters, each at most once (`/v1/head?height=5` is refused, not answered with the latest
//! head to a client that asked for another). Refusals are 400 and name the parameter.

use axum::extract::{MatchedPath, Query, Request};
use axum::http::{StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::errors::ApiError;
use super::truncate;

/// The query parameters of each route that takes some; every other route takes none.
const QUERY_PARAMETERS: &[(&str, &[&str])] = &[
    ("/v1/consistency", &["first", "second"]),
    (
        "/v1/consignments/{ucr}/route",
        &["containers_from", "height"],
    ),
    ("/v1/reports/time-release", &["border_post", "period"]),
    ("/v1/organisations/{id}", &["recognised_by", "at"]),
    ("/v1/organisations/{id}/outcomes", &["from", "wait"]),
];

/// The explorer's files, which read nothing from their address but the fragment: a query on
/// them (a cache buster on a module the page loads, say) is not checked.
const STATIC_FILES: [&str; 3] = ["/", "/explorer.js", "/explorer.css"];

/// Middleware (after routing): refuses query parameters the matched route does not take, and
/// a parameter given twice, with 400 `invalid_query`.
pub(super) async fn strict_query(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    if let Some(route) = route.filter(|r| !STATIC_FILES.contains(&r.as_str())) {
        if let Err(e) = check_query(&route, req.uri()) {
            return e.into_response();
        }
    }
    next.run(req).await
}

/// Checks the query of `uri` against the parameters `route` takes.
pub fn check_query(route: &str, uri: &Uri) -> Result<(), ApiError> {
    let invalid = |m: String| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", m);
    if uri.query().is_none_or(str::is_empty) {
        return Ok(());
    }
    let takes = QUERY_PARAMETERS
        .iter()
        .find(|(r, _)| *r == route)
        .map_or(&[][..], |(_, p)| *p);
    let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map_err(|e| invalid(format!("query: {}", e.body_text())))?;
    let mut seen: Vec<&str> = Vec::new();
    for (name, _) in &pairs {
        if !takes.contains(&name.as_str()) {
            return Err(invalid(if takes.is_empty() {
                format!(
                    "query: {route} takes no parameters, got {:?}",
                    truncate(name)
                )
            } else {
                format!(
                    "query: unknown parameter {:?} ({route} takes {})",
                    truncate(name),
                    takes.join(", ")
                )
            }));
        }
        if seen.contains(&name.as_str()) {
            return Err(invalid(format!("query: parameter {name:?} given twice")));
        }
        seen.push(name);
    }
    Ok(())
}

/// A non-negative integer in canonical decimal: digits only, no sign, no leading zeros
/// (`0` itself is fine), within `u64`.
pub fn decimal(s: &str) -> Option<u64> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    canonical.then(|| s.parse().ok()).flatten()
}

/// A block height: [`decimal`], from 1.
pub fn height(s: &str) -> Result<u64, ApiError> {
    decimal(s).filter(|h| *h >= 1).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_height",
            format!(
                "height: {:?} is not a block height (an integer from 1 in decimal digits, \
                 without sign or leading zeros)",
                truncate(s)
            ),
        )
    })
}

/// A UTC month `YYYY-MM`: year 1970-9999 (event times are milliseconds since 1970, written as
/// RFC 3339 up to year 9999), month 01-12.
pub fn is_month(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 7 || b.get(4) != Some(&b'-') {
        return false;
    }
    let number = |r: std::ops::Range<usize>| {
        s.get(r)
            .filter(|d| d.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|d| d.parse::<u32>().ok())
    };
    number(0..4).is_some_and(|y| y >= 1970) && number(5..7).is_some_and(|m| (1..=12).contains(&m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_one_spelling() {
        for (s, v) in [("0", Some(0)), ("1", Some(1)), ("10", Some(10))] {
            assert_eq!(decimal(s), v, "{s}");
        }
        assert_eq!(decimal("18446744073709551615"), Some(u64::MAX));
        for bad in [
            "",
            "+1",
            "-1",
            "01",
            "00",
            "0001",
            "1.0",
            "1e3",
            " 1",
            "1 ",
            "0x1",
            "１",
            "18446744073709551616",
        ] {
            assert_eq!(decimal(bad), None, "{bad:?}");
        }
        assert_eq!(height("1").unwrap(), 1);
        let e = height("0").unwrap_err();
        assert_eq!((e.code, e.status.as_u16()), ("invalid_height", 400));
        assert!(e.message.starts_with("height: \"0\""), "{}", e.message);
    }

    #[test]
    fn months() {
        for good in ["1970-01", "2026-12", "9999-09"] {
            assert!(is_month(good), "{good}");
        }
        for bad in [
            "2026-13",
            "2026-00",
            "2026-1",
            "2026-001",
            "+026-01",
            "0000-01",
            "1969-12",
            "2026/01",
            "2026-1a",
            "２０２６-01",
            "",
        ] {
            assert!(!is_month(bad), "{bad}");
        }
    }

    #[test]
    fn routes_take_their_own_parameters_once() {
        let uri = |s: &str| s.parse::<Uri>().unwrap();
        assert!(check_query("/v1/head", &uri("/v1/head")).is_ok());
        assert!(check_query("/v1/head", &uri("/v1/head?")).is_ok());
        assert!(check_query("/v1/consistency", &uri("/v1/consistency?first=1&second=2")).is_ok());
        for (route, u, named) in [
            ("/v1/head", "/v1/head?height=5", "height"),
            (
                "/v1/consistency",
                "/v1/consistency?first=1&first=2",
                "first",
            ),
            ("/v1/consistency", "/v1/consistency?first=1&size=2", "size"),
            (
                "/v1/reports/time-release",
                "/v1/reports/time-release?month=2026-01",
                "month",
            ),
        ] {
            let e = check_query(route, &uri(u)).unwrap_err();
            assert_eq!((e.code, e.status.as_u16()), ("invalid_query", 400), "{u}");
            assert!(
                e.message.starts_with("query: ") && e.message.contains(named),
                "{}",
                e.message
            );
        }
    }
}
