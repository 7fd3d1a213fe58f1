//! `docs/wire-format.md` against the code and `protocol/testdata/`: every mechanism has its
//! section with its wire tag, every test vector is quoted in the section of its mechanism, and
//! every quoted or derived value equals what the files hold and the code computes.
//!
//! The document's conventions (restated in its last section):
//! - a mechanism's section opens with a level-3 heading holding ``(`name`, tag N)``, N its
//!   `Report` (and `Mechanism`) variant index; the section runs to the next heading of level
//!   1 to 3;
//! - a fenced block whose info string is `vector FILE` quotes fields of `protocol/testdata/FILE`,
//!   one `path: value` line each (`path` is a dot-separated path into the JSON file);
//! - a `derived FILE` block quotes values the code derives from FILE's configuration
//!   ([`derived`] lists them);
//! - an `example` block holds a configuration (`config`, JSON) and a report (`report_hex`) that
//!   must decode, belong to the section's mechanism and pass the campaign's check; its other
//!   lines are derived values of that configuration.
//!
//! In every block, a value continues on the following lines that start with a space; values of
//! keys ending in `_hex` are hex digits compared with spaces removed, all others are JSON.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use ldp_protocol::mechanism::MechanismParams;
use ldp_protocol::{CampaignConfig, CampaignSpec, MechanismKind, Report, wire};
use serde_json::{Value, json};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn testdata() -> PathBuf {
    workspace().join("protocol/testdata")
}

fn document() -> String {
    std::fs::read_to_string(workspace().join("docs/wire-format.md")).unwrap()
}

fn load(file: &str) -> Option<Value> {
    let text = std::fs::read_to_string(testdata().join(file)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Every file in `protocol/testdata/`, sorted.
fn testdata_files() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(testdata())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    names.sort();
    names
}

/// The wire tag of each mechanism: its position in [`MechanismKind::EVERY`].
fn tag_of(kind: MechanismKind) -> usize {
    MechanismKind::EVERY
        .iter()
        .position(|&k| k == kind)
        .unwrap()
}

/// A mechanism heading: ``(`name`, tag N)`` in a level-3 heading.
#[derive(Debug)]
struct Heading {
    name: String,
    tag: usize,
    line: usize,
}

/// A machine-checked block of the document.
#[derive(Debug)]
struct Block {
    /// `vector`, `derived` or `example`.
    kind: String,
    /// The testdata file of a `vector` or `derived` block.
    file: Option<String>,
    /// 1-based line of the opening fence.
    line: usize,
    /// The mechanism section the block sits in, by name.
    section: Option<String>,
    fields: Vec<(String, String)>,
}

impl Block {
    fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn at(&self) -> String {
        format!("docs/wire-format.md:{}", self.line)
    }
}

const BLOCK_KINDS: [&str; 3] = ["vector", "derived", "example"];

/// The mechanism heading on `line`, if it is one.
fn parse_heading(line: &str, number: usize) -> Option<Heading> {
    let rest = line.strip_prefix("### ")?;
    let start = rest.find("(`")? + 2;
    let rest = &rest[start..];
    let (name, rest) = rest.split_once("`, tag ")?;
    let (tag, _) = rest.split_once(')')?;
    Some(Heading {
        name: name.to_owned(),
        tag: tag.trim().parse().ok()?,
        line: number,
    })
}

/// The mechanism headings and the checked blocks of `text`; malformed block lines are
/// reported in `problems`.
fn parse(text: &str, problems: &mut Vec<String>) -> (Vec<Heading>, Vec<Block>) {
    let mut headings = Vec::new();
    let mut blocks = Vec::new();
    let mut section: Option<String> = None;
    let mut fence: Option<Option<Block>> = None;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let trimmed = line.trim_start();
        if let Some(open) = fence.as_mut() {
            if trimmed.trim_end() == "```" {
                if let Some(block) = fence.take().flatten() {
                    blocks.push(block);
                }
                continue;
            }
            let Some(block) = open.as_mut() else { continue };
            if line.trim().is_empty() {
                continue;
            }
            if line.starts_with(' ') {
                match block.fields.last_mut() {
                    Some((_, value)) => {
                        value.push(' ');
                        value.push_str(line.trim());
                    }
                    None => problems.push(format!("line {number}: continuation without a key")),
                }
            } else if let Some((key, value)) = line.split_once(':') {
                block
                    .fields
                    .push((key.trim().to_owned(), value.trim().to_owned()));
            } else {
                problems.push(format!(
                    "line {number}: expected `key: value`, got {line:?}"
                ));
            }
            continue;
        }
        if let Some(info) = trimmed.strip_prefix("```") {
            let mut words = info.split_whitespace();
            let kind = words.next().unwrap_or_default();
            let block = BLOCK_KINDS.contains(&kind).then(|| Block {
                kind: kind.to_owned(),
                file: words.next().map(str::to_owned),
                line: number,
                section: section.clone(),
                fields: Vec::new(),
            });
            fence = Some(block);
            continue;
        }
        let level = line.chars().take_while(|&c| c == '#').count();
        if (1..=3).contains(&level) && line[level..].starts_with(' ') {
            section = None;
            if let Some(heading) = parse_heading(line, number) {
                section = Some(heading.name.clone());
                headings.push(heading);
            }
        }
    }
    if fence.is_some() {
        problems.push("the document ends inside a fenced block".to_owned());
    }
    (headings, blocks)
}

/// The value at dot-separated `path` in `value` (array elements by index).
fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |v, key| match v {
        Value::Array(items) => items.get(key.parse::<usize>().ok()?),
        _ => v.get(key),
    })
}

fn normalize_hex(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// Whether the document's `quoted` text states `actual`: hex with spaces removed for keys
/// ending in `_hex`, JSON otherwise.
fn same(key: &str, quoted: &str, actual: &Value) -> bool {
    if key.ends_with("_hex") {
        actual
            .as_str()
            .is_some_and(|a| normalize_hex(a) == normalize_hex(quoted))
    } else {
        serde_json::from_str::<Value>(quoted).is_ok_and(|q| &q == actual)
    }
}

/// The configuration of a testdata file: its `config`, or the `spec` of `config.json`.
fn config_of(vector: &Value) -> Option<CampaignConfig> {
    let spec = [vector.get("config"), vector.get("spec")]
        .into_iter()
        .flatten()
        .find(|v| !v.is_null())?;
    let spec: CampaignSpec = serde_json::from_value(spec.clone()).ok()?;
    CampaignConfig::new(spec).ok()
}

/// Everything a `derived` or `example` block may quote about a configuration.
#[expect(clippy::too_many_lines, reason = "one block per mechanism family")]
fn derived(config: &CampaignConfig) -> BTreeMap<&'static str, Value> {
    let params = config.params();
    let pure = params.pure();
    let mut out = BTreeMap::from([
        ("digest_hex", json!(format!("{:016x}", config.digest()))),
        (
            "canonical_hex",
            json!(hex::encode(wire::encode(config).unwrap())),
        ),
        (
            "mechanism",
            serde_json::to_value(&config.spec().mechanism).unwrap(),
        ),
        ("report_bytes", json!(params.report_bytes())),
        ("k", json!(params.k())),
        ("p", json!(pure.p)),
        ("q", json!(pure.q)),
    ]);
    let mut put = |key: &'static str, value: Value| {
        out.insert(key, value);
    };
    if let MechanismParams::Grr(p) = params {
        put("keep", json!(p.keep.0));
    }
    if let MechanismParams::Sue(p) | MechanismParams::Oue(p) = params {
        put("one_if_true", json!(p.one_if_true.0));
        put("one_if_false", json!(p.one_if_false.0));
        put("words", json!(p.words()));
    }
    if let MechanismParams::Olh(p) | MechanismParams::Blh(p) = params {
        put("g", json!(p.g));
        put("keep", json!(p.keep.0));
        put("seed_pool", json!(p.seed_pool));
    }
    if let MechanismParams::LSue(p) | MechanismParams::LOue(p) = params {
        put("prr_one", json!(p.prr_one.0));
        put("prr_zero", json!(p.prr_zero.0));
        put("irr_one", json!(p.irr_one.0));
        put("irr_zero", json!(p.irr_zero.0));
        put("words", json!(p.words()));
    }
    if let MechanismParams::Loloha(p) = params {
        put("g", json!(p.g));
        put("keep_permanent", json!(p.keep_permanent.0));
        put("keep_instant", json!(p.keep_instant.0));
    }
    if let MechanismParams::DBitFlip(p) = params {
        put("points", json!(p.points));
        put("sampled", json!(p.sampled));
        put("keep", json!(p.keep.0));
    }
    if let MechanismParams::Ss(p) = params {
        put("w", json!(p.w));
        put("include", json!(p.include.0));
    }
    if let MechanismParams::Hr(p) = params {
        put("outputs", json!(p.outputs));
        put("keep", json!(p.keep.0));
    }
    if let MechanismParams::Rappor(p) = params {
        put("flip_half", json!(p.flip_half.0));
        put("irr_p", json!(p.p.0));
        put("irr_q", json!(p.q.0));
        put("words", json!(p.words()));
        put("epsilon_one", json!(p.epsilon_one_upper_bound()));
    }
    if let MechanismParams::Cms(p) | MechanismParams::Hcms(p) = params {
        put("hashes", json!(p.hashes));
        put("width", json!(p.width));
        put("seed", json!(p.seed));
        put("flip", json!(p.flip.0));
        put("words", json!(p.words()));
    }
    if let MechanismParams::Duchi(p) | MechanismParams::Piecewise(p) | MechanismParams::Hybrid(p) =
        params
    {
        put("cells", json!(p.cells()));
        put("piecewise_share", json!(p.piecewise_share.0));
        if let Some(pm) = p.piecewise {
            put("piecewise_block", json!(pm.block));
            put("piecewise_keep", json!(pm.keep.0));
        }
        if let Some(d) = p.duchi {
            put("duchi_keep", json!(d.keep.0));
        }
    }
    out
}

/// Checks `fields` (other than those in `skip`) against the derived values of `config`.
fn check_derived(
    block: &Block,
    config: &CampaignConfig,
    skip: &[&str],
    problems: &mut Vec<String>,
) {
    let values = derived(config);
    for (key, quoted) in &block.fields {
        if skip.contains(&key.as_str()) {
            continue;
        }
        match values.get(key.as_str()) {
            None => problems.push(format!("{}: {key:?} is not a derived value", block.at())),
            Some(actual) if !same(key, quoted, actual) => problems.push(format!(
                "{}: {key} is quoted as {quoted}, the code derives {actual}",
                block.at()
            )),
            Some(_) => {}
        }
    }
}

/// The mechanism tag inside the canonical encoding of `config`: after the id and the
/// description, each a u64 length and its bytes.
fn mechanism_tag_in_config(config: &CampaignConfig) -> u32 {
    let bytes = wire::encode(config).unwrap();
    let spec = config.spec();
    let at = 8 + spec.id.len() + 8 + spec.description.len();
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

/// A `vector` block: every quoted field equals the file's; a report vector also quotes its
/// configuration, input and bytes, and sits in the section of its mechanism, whose tag its
/// bytes start with.
fn check_vector(block: &Block, problems: &mut Vec<String>) {
    let Some(file) = block.file.as_deref() else {
        problems.push(format!("{}: a vector block names no file", block.at()));
        return;
    };
    let Some(vector) = load(file) else {
        problems.push(format!(
            "{}: protocol/testdata/{file} is missing",
            block.at()
        ));
        return;
    };
    for (key, quoted) in &block.fields {
        match lookup(&vector, key) {
            None => problems.push(format!("{}: {file} has no {key}", block.at())),
            Some(actual) if !same(key, quoted, actual) => problems.push(format!(
                "{}: {file} {key} is quoted as {quoted}, the file holds {actual}",
                block.at()
            )),
            Some(_) => {}
        }
    }
    if !file.starts_with("report_") {
        return;
    }
    for key in [
        "config.mechanism",
        "config.domain",
        "config.epsilon",
        "input",
        "report_hex",
    ] {
        if block.get(key).is_none() {
            problems.push(format!("{}: the quote of {file} lacks {key}", block.at()));
        }
    }
    let Some(config) = config_of(&vector) else {
        problems.push(format!("{}: the config of {file} is refused", block.at()));
        return;
    };
    let kind = config.params().kind();
    if block.section.as_deref() != Some(kind.name()) {
        problems.push(format!(
            "{}: {file}, a vector of {kind}, is quoted outside the {kind} section",
            block.at()
        ));
    }
    let bytes = hex::decode(vector["report_hex"].as_str().unwrap_or_default()).unwrap();
    let tag = bytes
        .get(..4)
        .map(|b| u32::from_le_bytes(b.try_into().unwrap()));
    if tag != Some(tag_of(kind) as u32) || mechanism_tag_in_config(&config) != tag_of(kind) as u32 {
        problems.push(format!(
            "{}: {file} does not carry tag {} of {kind}",
            block.at(),
            tag_of(kind)
        ));
    }
}

/// An `example` block: its report decodes, is of the section's mechanism, passes the check of
/// its configuration and re-encodes to the same bytes.
fn check_example(block: &Block, problems: &mut Vec<String>) {
    let at = block.at();
    let spec = block
        .get("config")
        .and_then(|text| serde_json::from_str::<CampaignSpec>(text).ok());
    let Some(config) = spec.and_then(|spec| CampaignConfig::new(spec).ok()) else {
        problems.push(format!("{at}: the example's config is missing or refused"));
        return;
    };
    let Some(bytes) = block
        .get("report_hex")
        .and_then(|h| hex::decode(normalize_hex(h)).ok())
    else {
        problems.push(format!(
            "{at}: the example's report_hex is missing or not hex"
        ));
        return;
    };
    let report = match wire::decode::<Report>(&bytes) {
        Ok(report) => report,
        Err(e) => {
            problems.push(format!("{at}: the example's report does not decode: {e}"));
            return;
        }
    };
    if block.section.as_deref() != Some(report.kind().name()) {
        problems.push(format!(
            "{at}: a {} example outside its section",
            report.kind()
        ));
    }
    if let Err(e) = report.check(config.params()) {
        problems.push(format!("{at}: the example's report is refused: {e}"));
    }
    if wire::encode(&report).unwrap() != bytes || bytes.len() != config.params().report_bytes() {
        problems.push(format!("{at}: the example's report is not canonical"));
    }
    if let Some(quoted) = block.get("report")
        && !same("report", quoted, &serde_json::to_value(&report).unwrap())
    {
        problems.push(format!(
            "{at}: the example's report JSON differs from its bytes"
        ));
    }
    check_derived(
        block,
        &config,
        &["config", "report_hex", "report"],
        problems,
    );
}

#[test]
fn wire_format_doc_matches_the_code_and_the_vectors() {
    let text = document();
    let mut problems = Vec::new();
    let (headings, blocks) = parse(&text, &mut problems);

    // (a) One section per mechanism the code defines, with its wire tag; none for others.
    let names: BTreeSet<&str> = MechanismKind::EVERY.iter().map(|k| k.name()).collect();
    for kind in MechanismKind::EVERY {
        let found: Vec<&Heading> = headings.iter().filter(|h| h.name == kind.name()).collect();
        match found.as_slice() {
            [] => problems.push(format!("no section for {kind} (tag {})", tag_of(kind))),
            [heading] if heading.tag != tag_of(kind) => problems.push(format!(
                "line {}: {kind} is quoted with tag {}, its tag is {}",
                heading.line,
                heading.tag,
                tag_of(kind)
            )),
            [_] => {}
            _ => problems.push(format!("{kind} has more than one section")),
        }
    }
    for heading in &headings {
        if !names.contains(heading.name.as_str()) {
            problems.push(format!(
                "line {}: a section for {:?}, which is no mechanism",
                heading.line, heading.name
            ));
        }
    }

    // (b) Every quoted value equals the file's or the code's.
    for block in &blocks {
        match block.kind.as_str() {
            "vector" => check_vector(block, &mut problems),
            "example" => check_example(block, &mut problems),
            _ => match block
                .file
                .as_deref()
                .and_then(load)
                .and_then(|v| config_of(&v))
            {
                Some(config) => check_derived(block, &config, &[], &mut problems),
                None => problems.push(format!(
                    "{}: a derived block needs a testdata file with a config",
                    block.at()
                )),
            },
        }
    }

    // Every vector file is named, every report vector quoted, every section shows a report.
    let quoted: BTreeSet<&str> = blocks
        .iter()
        .filter(|b| b.kind == "vector")
        .filter_map(|b| b.file.as_deref())
        .collect();
    for file in testdata_files() {
        if !text.contains(&file) {
            problems.push(format!("protocol/testdata/{file} is not mentioned"));
        }
        if file.starts_with("report_") && !quoted.contains(file.as_str()) {
            problems.push(format!("protocol/testdata/{file} is not quoted"));
        }
    }
    for kind in MechanismKind::EVERY {
        let shown = blocks.iter().any(|b| {
            b.section.as_deref() == Some(kind.name()) && (b.kind == "vector" || b.kind == "example")
        });
        if !shown {
            problems.push(format!(
                "the {kind} section quotes no vector and no example"
            ));
        }
    }

    assert!(
        problems.is_empty(),
        "docs/wire-format.md disagrees with the code or protocol/testdata:\n{}",
        problems.join("\n")
    );
}
