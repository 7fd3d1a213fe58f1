//! The OpenAPI 3.1 document of the service, built from the handlers in [`super::routes`] and
//! served at `/openapi.json`.

use utoipa::OpenApi;

use super::routes::campaigns::{self, CampaignView};
use super::routes::estimates::{
    self, CandidateEstimatesView, CandidateQuery, EstimatesView, ShuffledView, ValueView,
};
use super::routes::ingest::{self, IngestAnswer};
use super::routes::lifecycle::{self, Retention};
use super::routes::ops::{self, AdviceView, AdvisedMechanism};
use super::routes::series::{self, SeriesPoint, SeriesView};
use super::routes::trending::{self, TrendView, TrendingView};
use super::routes::{EpochsView, Format, ProblemView};
use crate::estimate::MeanEstimate;
use crate::estimate::candidates::CandidateEstimate;

/// The OpenAPI 3.1 document of the service.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "ldp-aggregator",
        description = "Collects locally differentially private reports and answers with unbiased estimates and their uncertainty. Errors are application/problem+json (RFC 9457). Query parameters and JSON bodies with unknown fields are refused (400). Trending's default epoch is the latest complete epoch that has reports."
    ),
    paths(
        campaigns::create_campaign,
        campaigns::list_campaigns,
        campaigns::show_campaign,
        lifecycle::close_campaign,
        lifecycle::delete_campaign,
        lifecycle::set_retention,
        ingest::post_reports,
        estimates::estimates,
        estimates::query_estimates,
        trending::trending_values,
        series::series,
        ops::advice,
        ops::healthz,
        ops::readyz,
        ops::metrics,
        ops::openapi
    ),
    components(schemas(
        CampaignView,
        Retention,
        IngestAnswer,
        EstimatesView,
        ValueView,
        ShuffledView,
        CandidateQuery,
        CandidateEstimatesView,
        CandidateEstimate,
        MeanEstimate,
        TrendingView,
        TrendView,
        SeriesView,
        SeriesPoint,
        AdviceView,
        AdvisedMechanism,
        EpochsView,
        Format,
        ProblemView
    )),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_lists_every_route_and_the_shared_schemas() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        for path in [
            "/v1/campaigns",
            "/v1/campaigns/{id}",
            "/v1/campaigns/{id}/reports",
            "/v1/campaigns/{id}/estimates",
            "/v1/campaigns/{id}/estimates/query",
            "/v1/campaigns/{id}/trending",
            "/v1/advice",
            "/healthz",
            "/readyz",
            "/metrics",
            "/openapi.json",
        ] {
            assert!(doc["paths"].get(path).is_some(), "{path} is missing");
        }
        // The HTTP layer's view keeps the schema name clients already know.
        let schemas = &doc["components"]["schemas"];
        assert!(schemas.get("EpochRange").is_some(), "{schemas}");
        assert!(schemas.get("EpochsView").is_none());
        let trending = &schemas["TrendingView"]["properties"]["baseline"]["$ref"];
        assert_eq!(trending, "#/components/schemas/EpochRange");
    }

    /// The `name` parameter of `GET path`.
    fn parameter<'a>(doc: &'a serde_json::Value, path: &str, name: &str) -> &'a serde_json::Value {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .and_then(|all| all.iter().find(|p| p["name"] == name))
            .map_or(&serde_json::Value::Null, |p| &p["schema"])
    }

    #[test]
    fn the_documented_ranges_are_the_ones_the_server_applies() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        // Counts and epoch numbers: the whole u64 range, which `int64` would cut at 2^63 − 1.
        // An epoch may also be a date or a date-time.
        let top = parameter(&doc, "/v1/campaigns/{id}/estimates", "top");
        assert_eq!(
            (&top["minimum"], &top["maximum"]),
            (&0.into(), &u64::MAX.into())
        );
        let to = &parameter(&doc, "/v1/campaigns/{id}/estimates", "to")["oneOf"];
        assert_eq!(to[0]["maximum"], u64::MAX, "{to}");
        assert_eq!(
            (&to[1]["format"], &to[2]["format"]),
            (&"date".into(), &"date-time".into())
        );
        let baseline = parameter(&doc, "/v1/campaigns/{id}/trending", "baseline");
        assert_eq!(baseline["minimum"], 1);
        assert_eq!(baseline["maximum"], crate::query::MAX_BASELINE_EPOCHS);
        let k = parameter(&doc, "/v1/advice", "k");
        let (min_k, max_k) = (
            k["minimum"].as_u64().unwrap(),
            k["maximum"].as_u64().unwrap(),
        );
        let eps = ldp_protocol::Epsilon::new(1.0).unwrap();
        let rank = |k: u64| ldp_protocol::advisor::rank(u32::try_from(k).unwrap(), 1, eps, None);
        assert!(rank(min_k).is_ok() && rank(min_k - 1).is_err());
        assert!(rank(max_k).is_ok() && rank(max_k + 1).is_err());
        let epsilon = parameter(&doc, "/v1/advice", "epsilon");
        assert_eq!(epsilon["exclusiveMinimum"], 0.0);
        assert_eq!(epsilon["maximum"], ldp_protocol::limits::MAX_EPSILON);
        let candidates = &doc["components"]["schemas"]["CandidateQuery"]["properties"];
        for alpha in [
            &candidates["alpha"],
            parameter(&doc, "/v1/campaigns/{id}/trending", "alpha"),
        ] {
            assert_eq!(alpha["exclusiveMinimum"], 0.0, "{alpha}");
            assert_eq!(alpha["exclusiveMaximum"], 1.0, "{alpha}");
        }
        assert_eq!(candidates["candidates"]["uniqueItems"], true);
        let upload = &doc["paths"]["/v1/campaigns/{id}/reports"]["post"]["requestBody"];
        let batch = &upload["content"]["application/x-ldp-batch"]["schema"];
        assert_eq!(batch["format"], "binary", "{batch}");
    }
}
