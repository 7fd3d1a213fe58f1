//! Synthetic populations: exact true counts per value, deterministic for given parameters.

/// A population: how many devices hold each value index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Population {
    counts: Vec<u64>,
}

impl Population {
    /// A population with the given true counts.
    pub fn from_counts(counts: Vec<u64>) -> Self {
        Self { counts }
    }

    /// `n` devices over `k` values with Zipf(s) shares (value i has weight `(i+1)^-s`), rounded
    /// to integers by largest remainder so the counts sum to exactly `n`.
    pub fn zipf(k: u32, s: f64, n: u64) -> Self {
        let weights: Vec<f64> = (1..=k).map(|i| f64::from(i).powf(-s)).collect();
        Self::from_weights(&weights, n)
    }

    /// `n` devices spread as evenly as possible over `k` values.
    pub fn uniform(k: u32, n: u64) -> Self {
        Self::from_weights(&vec![1.0; k as usize], n)
    }

    /// `n` devices with shares proportional to `weights`, rounded by largest remainder.
    pub fn from_weights(weights: &[f64], n: u64) -> Self {
        let total: f64 = weights.iter().sum();
        let exact: Vec<f64> = weights.iter().map(|w| w / total * n as f64).collect();
        let mut counts: Vec<u64> = exact.iter().map(|x| x.floor() as u64).collect();
        let assigned: u64 = counts.iter().sum();
        let mut order: Vec<usize> = (0..weights.len()).collect();
        order.sort_by(|&a, &b| {
            let ra = exact[a] - exact[a].floor();
            let rb = exact[b] - exact[b].floor();
            rb.total_cmp(&ra).then(a.cmp(&b))
        });
        for &i in order.iter().take((n - assigned) as usize) {
            counts[i] += 1;
        }
        Self { counts }
    }

    /// A population described by `spec`: `zipf:S`, `uniform`, `emoji` (845 emoji with their
    /// real popularity, built in), or `file:PATH` (CSV `value,count` with an optional header,
    /// or one value per line). `k` applies to `zipf` and `uniform`; files and `emoji` bring
    /// their own domain. The counts are scaled to exactly `n` devices. Returns the labels of
    /// the values with the population.
    pub fn parse(spec: &str, k: u32, n: u64) -> Result<(Self, Vec<String>), String> {
        let numbered = |k: u32| (0..k).map(|i| i.to_string()).collect();
        if spec == "uniform" {
            return Ok((Self::uniform(k, n), numbered(k)));
        }
        if let Some(s) = spec.strip_prefix("zipf:") {
            let s: f64 = s
                .parse()
                .map_err(|_| format!("zipf:S needs a number, got {s:?}"))?;
            if !(s.is_finite() && s >= 0.0) {
                return Err(format!("zipf exponent must be ≥ 0, got {s}"));
            }
            return Ok((Self::zipf(k, s, n), numbered(k)));
        }
        let text = if spec == "emoji" {
            EMOJI_CSV.to_owned()
        } else if let Some(path) = spec.strip_prefix("file:") {
            std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?
        } else {
            return Err(format!(
                "unknown population {spec:?}: use zipf:S, uniform, emoji or file:PATH"
            ));
        };
        let (labels, weights) = parse_weights(&text)?;
        Ok((Self::from_weights(&weights, n), labels))
    }

    /// True count per value index.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// Number of devices.
    pub fn n(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Domain size.
    pub fn k(&self) -> u32 {
        self.counts.len() as u32
    }

    /// Every device's value, grouped by value (report order does not matter: reports are
    /// independent given the values).
    pub fn values(&self) -> impl Iterator<Item = u32> + '_ {
        self.counts
            .iter()
            .enumerate()
            .flat_map(|(i, &c)| std::iter::repeat_n(i as u32, c as usize))
    }
}

/// The built-in emoji popularity (see `data/README.md` for its provenance).
pub const EMOJI_CSV: &str = include_str!("../../data/emoji-frequency.csv");

/// Labels and weights from CSV `value,count` lines (a `value,count` header is skipped) or from
/// one value per line (each line counts once).
fn parse_weights(text: &str) -> Result<(Vec<String>, Vec<f64>), String> {
    let mut labels: Vec<String> = Vec::new();
    let mut weights: Vec<f64> = Vec::new();
    let mut index = std::collections::HashMap::new();
    for (line_no, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || (line_no == 0 && line.eq_ignore_ascii_case("value,count")) {
            continue;
        }
        let (value, weight) = match line.rsplit_once(',') {
            Some((value, count)) => match count.trim().parse::<f64>() {
                Ok(c) if c.is_finite() && c >= 0.0 => (value.trim(), c),
                _ => return Err(format!("line {}: bad count {count:?}", line_no + 1)),
            },
            None => (line, 1.0),
        };
        let i = *index.entry(value.to_owned()).or_insert_with(|| {
            labels.push(value.to_owned());
            weights.push(0.0);
            labels.len() - 1
        });
        weights[i] += weight;
    }
    if labels.len() < 2 {
        return Err("a population needs at least two distinct values".into());
    }
    if weights.iter().sum::<f64>() <= 0.0 {
        return Err("a population needs a positive total count".into());
    }
    Ok((labels, weights))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zipf_counts_sum_to_n_and_decrease() {
        let p = Population::zipf(1000, 1.1, 123_457);
        assert_eq!(p.n(), 123_457);
        assert!(p.counts().windows(2).all(|w| w[0] >= w[1]));
        assert_eq!(p.values().count(), 123_457);
    }
}
