//! The OpenAPI 3.1 document of the service, built from the handlers in [`super::routes`] and
//! served at `/openapi.json`.

use utoipa::OpenApi;

use super::routes::campaigns::{self, CampaignView};
use super::routes::estimates::{
    self, CandidateEstimatesView, CandidateQuery, EstimatesView, ValueView,
};
use super::routes::ingest::{self, IngestAnswer};
use super::routes::ops::{self, AdviceView, AdvisedMechanism};
use super::routes::trending::{self, TrendView, TrendingView};
use super::routes::{EpochsView, ProblemView};
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
        ingest::post_reports,
        estimates::estimates,
        estimates::query_estimates,
        trending::trending_values,
        ops::advice,
        ops::healthz,
        ops::readyz,
        ops::metrics,
        ops::openapi
    ),
    components(schemas(
        CampaignView,
        IngestAnswer,
        EstimatesView,
        ValueView,
        CandidateQuery,
        CandidateEstimatesView,
        CandidateEstimate,
        MeanEstimate,
        TrendingView,
        TrendView,
        AdviceView,
        AdvisedMechanism,
        EpochsView,
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
}
