//! Hadamard Response counters: a histogram of the K outputs, turned into every value's support
//! count by one fast Walsh–Hadamard transform (O(K log K)), never an O(K·k) loop. Math:
//! `ldp_protocol::mechanism::hadamard`.

use ldp_protocol::GrrReport;
use ldp_protocol::mechanism::HadamardParams;

/// Counts one checked report.
#[inline]
pub(crate) fn fold(cells: &mut [u64], report: &GrrReport) {
    if let Some(cell) = cells.get_mut(report.value as usize) {
        *cell += 1;
    }
}

/// In-place fast Walsh–Hadamard transform (Sylvester order, unnormalized) of a power-of-two
/// length vector: entry i becomes `Σ_j (−1)^popcount(i & j) · x_j`.
pub fn fwht(values: &mut [i64]) {
    let n = values.len();
    let mut half = 1;
    while half < n {
        for block in values.chunks_exact_mut(2 * half) {
            let (low, high) = block.split_at_mut(half);
            for (a, b) in low.iter_mut().zip(high.iter_mut()) {
                let (x, y) = (*a, *b);
                *a = x + y;
                *b = x - y;
            }
        }
        half *= 2;
    }
}

/// The support count of every value: `S_v = (n + Ĥ[v + 1]) / 2`, exact integers.
pub(crate) fn supports(params: &HadamardParams, histogram: &[u64], n: u64) -> Vec<f64> {
    let mut transformed: Vec<i64> = histogram.iter().map(|&c| c as i64).collect();
    fwht(&mut transformed);
    (0..params.k as usize)
        .map(|v| {
            let w = transformed.get(v + 1).copied().unwrap_or(0);
            (n as f64 + w as f64) / 2.0
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ldp_protocol::mechanism::hadamard::in_set;

    #[test]
    fn the_transform_counts_every_values_support() {
        let params = HadamardParams::new(1.0, 12).unwrap();
        let histogram: Vec<u64> = (0..16u64).map(|i| i * i % 7 + i).collect();
        let n: u64 = histogram.iter().sum();
        let fast = supports(&params, &histogram, n);
        for v in 0..12u32 {
            let naive: u64 = (0..16u32)
                .filter(|&y| in_set(v, y))
                .map(|y| histogram[y as usize])
                .sum();
            assert_eq!(fast[v as usize], naive as f64, "v={v}");
        }
    }
}
