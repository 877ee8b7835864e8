//! Route bundles: a consignment's proof bundle together with the proof bundles of every container
//! it travelled in, all against one certified head, so the consignment's whole route (its own
//! events and the movements of its containers while it was packed in them) verifies in one piece.
//! A consignment linked to trade identifiers (PROTOCOL.md 8f), and every identifier, has the route
//! of its *group*: the bundles of every linked subject and of the containers they name
//! ([`GroupRoute`], version 3).

use std::collections::{BTreeMap, BTreeSet};

use crate::bundle::{BundleError, ProofBundle, Provenance};
use crate::event::{Event, EventKind};
use crate::ids::{ContainerId, Ucr};
use crate::index::Subject;
use crate::roles::Genesis;

/// The route bundle format version of a whole route.
pub const ROUTE_VERSION: u32 = 1;
/// The format version of one page of a route (section 9b): a route naming more containers than
/// one bundle holds is served in pages.
pub const ROUTE_PAGE_VERSION: u32 = 2;
/// Most containers in one route bundle or page.
pub const MAX_ROUTE_CONTAINERS: usize = 256;
/// Most pages of one route (so at most 65,536 containers).
pub const MAX_ROUTE_PAGES: usize = 256;
/// The format version of the route of a group of linked subjects (section 9b).
pub const ROUTE_GROUP_VERSION: u32 = 3;
/// Most subjects in one group (section 8f).
pub const MAX_GROUP: usize = 64;

/// A consignment's bundle and the bundles of the containers its events name, in order of first
/// mention, all against the same head.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
pub struct RouteBundle {
    /// Format version: 1 for a whole route, 2 for a page.
    pub version: u32,
    /// The consignment's bundle.
    pub consignment: ProofBundle,
    /// One bundle per container named by the consignment's events, in order of first mention
    /// (in a page: those from `containers_from`, at most [`MAX_ROUTE_CONTAINERS`]).
    pub containers: Vec<ProofBundle>,
    /// In a page (version 2): the position, among the containers the consignment names, of
    /// the page's first container, a multiple of [`MAX_ROUTE_CONTAINERS`]. Absent in version 1.
    #[serde(
        default,
        deserialize_with = "crate::event::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub containers_from: Option<u64>,
}

/// Why a route bundle does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// Too large or not parseable.
    #[error("route bundle is malformed: {0}")]
    Malformed(String),
    /// Unknown version.
    #[error("route bundle version {0} is not supported")]
    Version(u32),
    /// The consignment part is not about a consignment.
    #[error("consignment: the bundle's subject is {0}, not a consignment")]
    NotConsignment(String),
    /// The consignment's bundle fails.
    #[error("consignment: {0}")]
    Consignment(BundleError),
    /// A container's bundle fails.
    #[error("containers[{pos}]: {err}")]
    Container {
        /// Position in `containers`.
        pos: usize,
        /// The failure.
        err: BundleError,
    },
    /// A container bundle is against another head than the consignment's.
    #[error("containers[{0}]: proven against another head than the consignment")]
    HeadMismatch(usize),
    /// A page is out of place, or the pages do not make up the route.
    #[error("pages[{pos}]: {reason}")]
    Page {
        /// Position of the page.
        pos: usize,
        /// What is wrong.
        reason: String,
    },
    /// The subjects of a group route are out of order, of the wrong type, or not a group.
    #[error("subjects: {0}")]
    Group(String),
    /// A consignment's route (version 1 or 2) whose consignment holds a `linked` event: its
    /// route is its group's (version 3), served whole.
    #[error("consignment: events[{0}] is a linked event: the consignment is linked to trade identifiers, its route is its group's (version 3)")]
    Linked(usize),
    /// A subject's bundle in a group route fails.
    #[error("subjects[{pos}]: {err}")]
    Subject {
        /// Position in `subjects`.
        pos: usize,
        /// The failure.
        err: BundleError,
    },
    /// The container bundles are not exactly the containers the consignment names.
    #[error("containers: expected {expected:?} (named by the consignment's events, in order), got {got:?}")]
    Containers {
        /// Containers named by the consignment, in order of first mention.
        expected: Vec<String>,
        /// Subjects of the bundles given.
        got: Vec<String>,
    },
}

/// Where a route event was proven.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// In the consignment's bundle.
    Consignment,
    /// Only in a container's bundle (a movement of the container while the consignment was in it).
    Container(ContainerId),
}

/// A verified route: the consignment's events and its containers' movements, merged by time.
#[derive(Debug, Clone)]
pub struct Route {
    /// The consignment's verified provenance (of a group: its first consignment subject, or its
    /// first subject if it has none).
    pub consignment: Provenance,
    /// The other subjects of a group route (version 3), in the order given; empty otherwise.
    pub group: Vec<Provenance>,
    /// Each container's verified provenance (all of its events, not only this consignment's).
    pub containers: Vec<Provenance>,
    /// The route: `(log index, event, source)` by event time (ties by log index), each event once.
    pub timeline: Vec<(u64, Event, Source)>,
}

impl Route {
    /// When the timeline event at log position `index` was recorded, if its bundle proved it.
    pub fn recorded_at(&self, index: u64) -> Option<crate::bundle::Recorded> {
        std::iter::once(&self.consignment)
            .chain(&self.group)
            .chain(&self.containers)
            .find_map(|p| p.recorded_at(index))
    }

    /// The log index of the retraction of the timeline event at `index`, if its bundle shows
    /// it retracted (8g).
    pub fn retracted_by(&self, index: u64) -> Option<u64> {
        std::iter::once(&self.consignment)
            .chain(&self.group)
            .chain(&self.containers)
            .find_map(|p| p.retracted_by(index))
    }

    /// The subjects of the route's own history: the consignment and, of a group, the others.
    pub fn subjects(&self) -> impl Iterator<Item = &Subject> {
        std::iter::once(&self.consignment.subject).chain(self.group.iter().map(|p| &p.subject))
    }
}

/// Containers named by `events`, in order of first mention.
pub fn containers_named<'a>(events: impl IntoIterator<Item = &'a Event>) -> Vec<ContainerId> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for e in events {
        if let Some(c) = &e.body().container {
            if seen.insert(c.clone()) {
                out.push(c.clone());
            }
        }
    }
    out
}

/// The time windows (event times, inclusive) in which the consignment was in `container`,
/// from its events taken in time order (ties by log position): a window opens at the first
/// event naming the container and closes at its `unpacked` event naming the container or at its
/// `delivered` event (a delivered consignment is in no container); a window still open is
/// open-ended. Times, not log positions, because events of one moment reach the log in any order.
fn windows(consignment: &[(u64, Event)], container: &ContainerId) -> Vec<(u64, u64)> {
    let mut by_time: Vec<&(u64, Event)> = consignment.iter().collect();
    by_time.sort_by_key(|(i, e)| (e.body().time, *i));
    let mut out = Vec::new();
    let mut open: Option<u64> = None;
    for (_, e) in by_time {
        let b = e.body();
        let names = b.container.as_ref() == Some(container);
        if names && open.is_none() {
            open = Some(b.time);
        }
        let closes = b.kind == EventKind::Delivered || (names && b.kind == EventKind::Unpacked);
        if closes {
            if let Some(start) = open.take() {
                out.push((start, b.time));
            }
        }
    }
    if let Some(start) = open {
        out.push((start, u64::MAX));
    }
    out
}

/// Merges the consignment's events with each container's events whose time lies in one of the
/// consignment's windows for that container, that do not belong to another consignment (name
/// another UCR, or trade identifiers) and,
/// under rules 2, whose issuer is a party of the consignment or a customs administration
/// (section 8c: an outsider's container events do not enter the route); ordered by event
/// time, ties by log position; each event once.
pub fn merge(
    consignment: &Provenance,
    containers: &[Provenance],
    ucr: &Ucr,
) -> Vec<(u64, Event, Source)> {
    let mut merged: BTreeMap<u64, (Event, Source)> = BTreeMap::new();
    for (i, e) in &consignment.events {
        merged.insert(*i, (e.clone(), Source::Consignment));
    }
    for p in containers {
        let Subject::Container(c) = &p.subject else {
            continue;
        };
        let wins = windows(&consignment.events, c);
        for (i, e) in &p.events {
            let t = e.body().time;
            let inside = wins.iter().any(|(a, b)| *a <= t && t <= *b);
            let other = e.body().ucr.as_ref().is_some_and(|u| u != ucr) || e.body().ids.is_some();
            let org = &e.body().issuer.org;
            let party = consignment.rules < 2
                || consignment.parties.contains(org)
                || consignment.customs.contains(org);
            if inside && !other && party {
                merged
                    .entry(*i)
                    .or_insert_with(|| (e.clone(), Source::Container(c.clone())));
            }
        }
    }
    let mut out: Vec<(u64, Event, Source)> =
        merged.into_iter().map(|(i, (e, s))| (i, e, s)).collect();
    out.sort_by_key(|(i, e, _)| (e.body().time, *i));
    out
}

impl RouteBundle {
    /// Parses the JSON form, bounding its size and container count.
    pub fn from_json(bytes: &[u8]) -> Result<RouteBundle, RouteError> {
        let limit = 4 * crate::bundle::MAX_BUNDLE_BYTES;
        if bytes.len() > limit {
            return Err(RouteError::Malformed(format!(
                "{} bytes, the limit is {limit}",
                bytes.len()
            )));
        }
        let r: RouteBundle =
            serde_json::from_slice(bytes).map_err(|e| RouteError::Malformed(e.to_string()))?;
        if r.containers.len() > MAX_ROUTE_CONTAINERS {
            return Err(RouteError::Malformed(format!(
                "{} containers, the limit is {MAX_ROUTE_CONTAINERS}",
                r.containers.len()
            )));
        }
        Ok(r)
    }

    /// The consignment's UCR, if the consignment part is about one.
    pub fn ucr(&self) -> Option<&Ucr> {
        match &self.consignment.subject {
            Subject::Consignment(u) => Some(u),
            Subject::Container(_)
            | Subject::Membership
            | Subject::Identifier(_)
            | Subject::Organisation(_) => None,
        }
    }

    /// Verifies every bundle against the genesis, that all share the consignment's head, that
    /// the containers are exactly those the consignment's events name, and merges the route.
    /// A page (version 2) verifies alone only if it is the route's only page; use
    /// [`verify_pages`] for the others.
    pub fn verify(&self, genesis: &Genesis) -> Result<Route, RouteError> {
        verify_pages(std::slice::from_ref(self), genesis)
    }
}

/// The route bundles of a consignment whose bundle is `consignment`, given the bundles of
/// all the containers it names, in order: one version-1 bundle if they fit in one, else
/// version-2 pages of [`MAX_ROUTE_CONTAINERS`] containers each.
pub fn paginate(consignment: ProofBundle, containers: Vec<ProofBundle>) -> Vec<RouteBundle> {
    if containers.len() <= MAX_ROUTE_CONTAINERS {
        return vec![RouteBundle {
            version: ROUTE_VERSION,
            consignment,
            containers,
            containers_from: None,
        }];
    }
    containers
        .chunks(MAX_ROUTE_CONTAINERS)
        .enumerate()
        .map(|(i, chunk)| RouteBundle {
            version: ROUTE_PAGE_VERSION,
            consignment: consignment.clone(),
            containers: chunk.to_vec(),
            containers_from: Some((i * MAX_ROUTE_CONTAINERS) as u64),
        })
        .collect()
}

/// The positions, among `named` containers, of the page starting at `from` (a multiple of
/// [`MAX_ROUTE_CONTAINERS`] below the count; 0 for a route of at most one page), or why there
/// is no such page.
pub fn page_range(named: usize, from: u64) -> Result<std::ops::Range<usize>, String> {
    let per = MAX_ROUTE_CONTAINERS as u64;
    if !from.is_multiple_of(per) || (from > 0 && from >= named as u64) {
        return Err(format!(
            "containers_from: pages start at multiples of {per} below the {named} containers the consignment names"
        ));
    }
    let from = from as usize;
    Ok(from..named.min(from + MAX_ROUTE_CONTAINERS))
}

/// Verifies a route served whole (one version-1 bundle) or in pages (version 2, in order, all
/// with the same consignment bundle, hence the same head): every bundle against the genesis,
/// the containers of all pages together exactly those the consignment's events name, and
/// merges the route.
pub fn verify_pages(pages: &[RouteBundle], genesis: &Genesis) -> Result<Route, RouteError> {
    let first = pages
        .first()
        .ok_or_else(|| RouteError::Malformed("no route bundle".into()))?;
    if pages.len() > MAX_ROUTE_PAGES {
        return Err(RouteError::Malformed(format!(
            "{} pages, the limit is {MAX_ROUTE_PAGES}",
            pages.len()
        )));
    }
    let page = |pos: usize, reason: String| RouteError::Page { pos, reason };
    for (pos, p) in pages.iter().enumerate() {
        let from = (pos * MAX_ROUTE_CONTAINERS) as u64;
        match (p.version, p.containers_from) {
            (ROUTE_VERSION, None) if pages.len() == 1 => {}
            (ROUTE_VERSION, _) => {
                return Err(page(
                    pos,
                    "a version 1 route bundle is a whole route: no containers_from, no other pages"
                        .into(),
                ))
            }
            (ROUTE_PAGE_VERSION, Some(f)) if f == from => {}
            (ROUTE_PAGE_VERSION, got) => {
                return Err(page(
                    pos,
                    format!("containers_from is {got:?}, this page must start at {from}"),
                ))
            }
            (v, _) => return Err(RouteError::Version(v)),
        }
        if p.containers.len() > MAX_ROUTE_CONTAINERS {
            return Err(page(
                pos,
                format!(
                    "{} containers, the limit is {MAX_ROUTE_CONTAINERS}",
                    p.containers.len()
                ),
            ));
        }
        if pos > 0 && p.consignment != first.consignment {
            return Err(page(
                pos,
                "its consignment bundle differs from the first page's (another head?)".into(),
            ));
        }
    }
    let ucr = first
        .ucr()
        .ok_or_else(|| RouteError::NotConsignment(first.consignment.subject.to_string()))?
        .clone();
    let consignment = first
        .consignment
        .verify(genesis)
        .map_err(RouteError::Consignment)?;
    // A consignment with linked events has a group of more than itself: its route is the
    // group's (version 3), and a node serving it as version 1 would hide the linked histories.
    if let Some(pos) = consignment
        .events
        .iter()
        .position(|(_, e)| e.body().kind == EventKind::Linked)
    {
        return Err(RouteError::Linked(pos));
    }
    let named = containers_named(consignment.events.iter().map(|(_, e)| e));
    let whole = first.version == ROUTE_VERSION;
    if whole && named.len() > MAX_ROUTE_CONTAINERS {
        return Err(page(
            0,
            format!(
                "the consignment names {} containers: more than one bundle holds, it must come in pages",
                named.len()
            ),
        ));
    }
    let needed = named.len().div_ceil(MAX_ROUTE_CONTAINERS).max(1);
    if !whole && pages.len() != needed {
        return Err(page(
            pages.len().min(needed),
            format!(
                "the consignment names {} containers: {needed} pages, got {}",
                named.len(),
                pages.len()
            ),
        ));
    }
    let bundles: Vec<&ProofBundle> = pages.iter().flat_map(|p| &p.containers).collect();
    let got: Vec<Subject> = bundles.iter().map(|b| b.subject.clone()).collect();
    let expected: Vec<Subject> = named.iter().cloned().map(Subject::Container).collect();
    if got != expected {
        return Err(RouteError::Containers {
            expected: expected.iter().map(ToString::to_string).collect(),
            got: got.iter().map(ToString::to_string).collect(),
        });
    }
    let mut containers = Vec::with_capacity(bundles.len());
    for (pos, b) in bundles.into_iter().enumerate() {
        if b.head != first.consignment.head || b.certificate != first.consignment.certificate {
            return Err(RouteError::HeadMismatch(pos));
        }
        containers.push(
            b.verify(genesis)
                .map_err(|err| RouteError::Container { pos, err })?,
        );
    }
    let timeline = merge(&consignment, &containers, &ucr);
    Ok(Route {
        consignment,
        group: Vec::new(),
        containers,
        timeline,
    })
}

/// The containers a group's subject bundles name, in order of first mention (subjects in
/// order, events in bundle order): the containers of its route (section 9b, version 3). An
/// event in two subject bundles names the same container twice, which counts once.
pub fn group_containers(subjects: &[ProofBundle]) -> Vec<ContainerId> {
    containers_named(subjects.iter().flat_map(|b| &b.events).map(|pe| &pe.event))
}

/// The subjects a `linked` event of `events` names (its `ucr`, then its `ids`), each once, in
/// order of first mention (section 8f).
pub fn linked_subjects<'a>(events: impl IntoIterator<Item = &'a Event>) -> Vec<Subject> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for e in events {
        let b = e.body();
        if b.kind != EventKind::Linked {
            continue;
        }
        let named = b.ucr.iter().map(|u| Subject::Consignment(u.clone())).chain(
            b.ids
                .iter()
                .flatten()
                .map(|t| Subject::Identifier(t.clone())),
        );
        for s in named {
            if seen.insert(s.clone()) {
                out.push(s);
            }
        }
    }
    out
}

/// The group of `start` (section 8f), given each subject's complete history: the subjects
/// reached through `linked` events, sorted by index key. `Ok(Err(n))` if the group has more than
/// [`MAX_GROUP`] subjects (`n` is how many were found when the search stopped).
pub fn group_of<E>(
    start: Subject,
    mut history: impl FnMut(&Subject) -> Result<Vec<Event>, E>,
) -> Result<Result<Vec<Subject>, usize>, E> {
    let mut found: BTreeSet<Subject> = BTreeSet::from([start.clone()]);
    let mut todo = vec![start];
    while let Some(s) = todo.pop() {
        for named in linked_subjects(&history(&s)?) {
            if found.insert(named.clone()) {
                if found.len() > MAX_GROUP {
                    return Ok(Err(found.len()));
                }
                todo.push(named);
            }
        }
    }
    let mut out: Vec<Subject> = found.into_iter().collect();
    out.sort_by_key(Subject::key);
    Ok(Ok(out))
}

/// The route of a group of linked subjects (section 9b, version 3): the proof bundle of every
/// subject of the group, in ascending order of index key, and of every container their events
/// name, all against one certified head.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
pub struct GroupRoute {
    /// Always [`ROUTE_GROUP_VERSION`].
    pub version: u32,
    /// One bundle per subject of the group (consignments and trade identifiers).
    pub subjects: Vec<ProofBundle>,
    /// One bundle per container the group's events name, in order of first mention.
    pub containers: Vec<ProofBundle>,
}

/// A route as served or exported: a consignment's route (one bundle or its pages) or a group's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteDoc {
    /// Versions 1 and 2.
    Pages(Vec<RouteBundle>),
    /// Version 3.
    Group(GroupRoute),
}

impl RouteDoc {
    /// Parses a route file or answer: a JSON array of pages, or one route bundle of any version.
    pub fn from_json(bytes: &[u8]) -> Result<RouteDoc, RouteError> {
        let limit = MAX_ROUTE_PAGES * 4 * crate::bundle::MAX_BUNDLE_BYTES;
        if bytes.len() > limit {
            return Err(RouteError::Malformed(format!(
                "{} bytes, the limit is {limit}",
                bytes.len()
            )));
        }
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| RouteError::Malformed(e.to_string()))?;
        match &value {
            serde_json::Value::Array(pages) => {
                if pages.len() > MAX_ROUTE_PAGES {
                    return Err(RouteError::Malformed(format!(
                        "{} pages, the limit is {MAX_ROUTE_PAGES}",
                        pages.len()
                    )));
                }
                let pages = pages
                    .iter()
                    .map(|p| RouteBundle::from_json(p.to_string().as_bytes()))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(RouteDoc::Pages(pages))
            }
            v if v.get("version").and_then(serde_json::Value::as_u64)
                == Some(u64::from(ROUTE_GROUP_VERSION)) =>
            {
                Ok(RouteDoc::Group(GroupRoute::from_json(bytes)?))
            }
            _ => Ok(RouteDoc::Pages(vec![RouteBundle::from_json(bytes)?])),
        }
    }

    /// Verifies the route against the genesis and merges its timeline.
    pub fn verify(&self, genesis: &Genesis) -> Result<Route, RouteError> {
        match self {
            RouteDoc::Pages(pages) => verify_pages(pages, genesis),
            RouteDoc::Group(g) => g.verify(genesis),
        }
    }

    /// The JSON form: one bundle, or an array of pages.
    pub fn to_json(&self) -> String {
        match self {
            RouteDoc::Pages(p) if p.len() == 1 => serde_json::to_string(&p[0]),
            RouteDoc::Pages(p) => serde_json::to_string(p),
            RouteDoc::Group(g) => serde_json::to_string(g),
        }
        .unwrap_or_default()
    }
}

impl GroupRoute {
    /// Parses the JSON form, bounding its size and bundle counts.
    pub fn from_json(bytes: &[u8]) -> Result<GroupRoute, RouteError> {
        let limit = 4 * crate::bundle::MAX_BUNDLE_BYTES;
        if bytes.len() > limit {
            return Err(RouteError::Malformed(format!(
                "{} bytes, the limit is {limit}",
                bytes.len()
            )));
        }
        let r: GroupRoute =
            serde_json::from_slice(bytes).map_err(|e| RouteError::Malformed(e.to_string()))?;
        if r.subjects.len() > MAX_GROUP || r.containers.len() > MAX_ROUTE_CONTAINERS {
            return Err(RouteError::Malformed(format!(
                "{} subjects and {} containers, the limits are {MAX_GROUP} and {MAX_ROUTE_CONTAINERS}",
                r.subjects.len(),
                r.containers.len()
            )));
        }
        Ok(r)
    }

    /// Verifies every bundle against the genesis, that all share one head, that the subjects
    /// are a group (closed and connected through `linked` events) and the containers exactly
    /// those the group's events name, and merges the route (section 9b, version 3).
    pub fn verify(&self, genesis: &Genesis) -> Result<Route, RouteError> {
        if self.version != ROUTE_GROUP_VERSION {
            return Err(RouteError::Version(self.version));
        }
        let group = |m: String| RouteError::Group(m);
        let first = self
            .subjects
            .first()
            .ok_or_else(|| group("a group route has at least one subject".into()))?;
        if self.subjects.len() > MAX_GROUP || self.containers.len() > MAX_ROUTE_CONTAINERS {
            return Err(RouteError::Malformed(format!(
                "at most {MAX_GROUP} subjects and {MAX_ROUTE_CONTAINERS} containers"
            )));
        }
        for (pos, b) in self.subjects.iter().enumerate() {
            if !matches!(b.subject, Subject::Consignment(_) | Subject::Identifier(_)) {
                return Err(group(format!(
                    "subjects[{pos}] is {}: a group holds consignments and trade identifiers",
                    b.subject
                )));
            }
            if pos > 0 && self.subjects[pos - 1].subject.key() >= b.subject.key() {
                return Err(group(format!(
                    "subjects[{pos}] ({}) is not after subjects[{}] in index key order",
                    b.subject,
                    pos - 1
                )));
            }
        }
        let mut proven = Vec::with_capacity(self.subjects.len());
        for (pos, b) in self.subjects.iter().enumerate() {
            if b.head != first.head || b.certificate != first.certificate {
                return Err(group(format!(
                    "subjects[{pos}] is proven against another head than subjects[0]"
                )));
            }
            proven.push(
                b.verify(genesis)
                    .map_err(|err| RouteError::Subject { pos, err })?,
            );
        }
        // Closed: every subject a linked event names is here. Connected: every subject is
        // reached from the first through linked events.
        let given: BTreeSet<&Subject> = proven.iter().map(|p| &p.subject).collect();
        let by_subject: BTreeMap<&Subject, &Provenance> =
            proven.iter().map(|p| (&p.subject, p)).collect();
        for p in &proven {
            if let Some(missing) = linked_subjects(p.events.iter().map(|(_, e)| e))
                .into_iter()
                .find(|s| !given.contains(s))
            {
                return Err(group(format!(
                    "{missing} is linked by an event of {} but has no bundle (the group is not closed)",
                    p.subject
                )));
            }
        }
        let mut reached: BTreeSet<&Subject> = BTreeSet::from([&proven[0].subject]);
        let mut todo = vec![&proven[0].subject];
        while let Some(s) = todo.pop() {
            for named in linked_subjects(by_subject[s].events.iter().map(|(_, e)| e)) {
                if let Some((k, _)) = by_subject.get_key_value(&named) {
                    if reached.insert(k) {
                        todo.push(k);
                    }
                }
            }
        }
        if let Some(alone) = given.iter().find(|s| !reached.contains(*s)) {
            return Err(group(format!(
                "{alone} is not linked to {} (the subjects are not one group)",
                proven[0].subject
            )));
        }
        // The group's events, each once, in subject then bundle order for container mentions.
        let mut seen = BTreeSet::new();
        let mut events: Vec<(u64, Event)> = Vec::new();
        for p in &proven {
            for (i, e) in &p.events {
                if seen.insert(*i) {
                    events.push((*i, e.clone()));
                }
            }
        }
        let named = containers_named(events.iter().map(|(_, e)| e));
        let got: Vec<Subject> = self.containers.iter().map(|b| b.subject.clone()).collect();
        let expected: Vec<Subject> = named.iter().cloned().map(Subject::Container).collect();
        if got != expected {
            return Err(RouteError::Containers {
                expected: expected.iter().map(ToString::to_string).collect(),
                got: got.iter().map(ToString::to_string).collect(),
            });
        }
        let mut containers = Vec::with_capacity(self.containers.len());
        for (pos, b) in self.containers.iter().enumerate() {
            if b.head != first.head || b.certificate != first.certificate {
                return Err(RouteError::HeadMismatch(pos));
            }
            containers.push(
                b.verify(genesis)
                    .map_err(|err| RouteError::Container { pos, err })?,
            );
        }
        let timeline = merge_group(&proven, &events, &containers);
        let lead = proven
            .iter()
            .position(|p| matches!(p.subject, Subject::Consignment(_)))
            .unwrap_or(0);
        let consignment = proven.remove(lead);
        Ok(Route {
            consignment,
            group: proven,
            containers,
            timeline,
        })
    }
}

/// The timeline of a group (section 9b, version 3): the group's events, and each container's
/// events in one of the group's windows for it that name no consignment and no identifier and,
/// under rules 2, whose issuer is a party of one of the group's consignments, the issuer of
/// one of the group's events, or customs.
fn merge_group(
    subjects: &[Provenance],
    events: &[(u64, Event)],
    containers: &[Provenance],
) -> Vec<(u64, Event, Source)> {
    let mut merged: BTreeMap<u64, (Event, Source)> = events
        .iter()
        .map(|(i, e)| (*i, (e.clone(), Source::Consignment)))
        .collect();
    let rules = subjects.first().map_or(1, |p| p.rules);
    let mut parties: BTreeSet<&crate::ids::OrgId> = BTreeSet::new();
    for p in subjects {
        parties.extend(p.parties.iter());
        parties.extend(p.customs.iter());
    }
    parties.extend(events.iter().map(|(_, e)| &e.body().issuer.org));
    for p in containers {
        let Subject::Container(c) = &p.subject else {
            continue;
        };
        let wins = windows(events, c);
        for (i, e) in &p.events {
            let b = e.body();
            let inside = wins.iter().any(|(a, z)| *a <= b.time && b.time <= *z);
            let other = b.ucr.is_some() || b.ids.is_some();
            let party = rules < 2 || parties.contains(&b.issuer.org);
            if inside && !other && party {
                merged
                    .entry(*i)
                    .or_insert_with(|| (e.clone(), Source::Container(c.clone())));
            }
        }
    }
    let mut out: Vec<(u64, Event, Source)> =
        merged.into_iter().map(|(i, (e, s))| (i, e, s)).collect();
    out.sort_by_key(|(i, e, _)| (e.body().time, *i));
    out
}

crate::wire::object_only!(RouteBundle, GroupRoute);
