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
