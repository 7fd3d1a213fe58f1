//! The variance formulas reproduce the reference `Var*` table of DESIGN.md §4 (values rounded
//! to the printed digits), from the thresholds actually used.

use ldp_protocol::{CampaignConfig, CampaignSpec, Domain, Mechanism, MechanismKind};

fn var_star(mechanism: Mechanism, eps: f64, k: u32) -> f64 {
    CampaignConfig::new(CampaignSpec::new("v", mechanism, eps, Domain::Range { k }))
        .unwrap()
        .params()
        .pure()
        .var_star()
}

#[test]
fn reference_table() {
    // (ε, GRR k=16, GRR k=1024, SUE, OUE, OLH), with the number of printed decimals.
    let table: [(f64, [(f64, i32); 5]); 4] = [
        (
            0.5,
            [(37.18, 2), (2432.4, 1), (15.92, 2), (15.67, 2), (15.82, 2)],
        ),
        (
            1.0,
            [(5.66, 2), (347.1, 1), (3.92, 2), (3.68, 2), (3.69, 2)],
        ),
        (2.0, [(0.52, 2), (25.2, 1), (0.92, 2), (0.72, 2), (0.72, 2)]),
        (4.0, [(0.02, 2), (0.4, 1), (0.18, 2), (0.08, 2), (0.08, 2)]),
    ];
    for (eps, row) in table {
        let computed = [
            var_star(Mechanism::Grr, eps, 16),
            var_star(Mechanism::Grr, eps, 1024),
            var_star(Mechanism::Sue, eps, 1024),
            var_star(Mechanism::Oue, eps, 1024),
            var_star(Mechanism::with_defaults(MechanismKind::Olh), eps, 1024),
        ];
        for ((printed, decimals), value) in row.into_iter().zip(computed) {
            let half_unit = 0.5 * 10f64.powi(-decimals);
            assert!(
                (value - printed).abs() <= half_unit + 1e-9,
                "eps {eps}: computed {value}, table {printed}"
            );
        }
    }
}

#[test]
fn optimal_g_matches_the_table() {
    use ldp_protocol::mechanism::local_hash::optimal_g;
    assert_eq!([0.5, 1.0, 2.0, 4.0].map(optimal_g), [3, 4, 8, 56]);
}
