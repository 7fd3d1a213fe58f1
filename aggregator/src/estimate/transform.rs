//! The fast Walsh–Hadamard transform, shared by Hadamard Response (every value's support from
//! the output histogram) and HCMS (the debiased sketch from each row's signed sums).

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
