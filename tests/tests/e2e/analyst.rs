//! The analyst's questions in people's terms: epochs named by date or date-time give the same
//! answers as epoch numbers, every answer says when its epochs start and end, and CSV answers
//! hold the JSON's rows.

use ldp_aggregator::epoch_time::EpochTime;
use ldp_client::Encoder;
use ldp_protocol::{Batch, BatchId, CampaignConfig, CampaignSpec, Domain, Mechanism, wire};
use ldp_tests::seeded_rng;
use ldp_tests::server::{Backend, TestServer, current_epoch};

const BINARY: &str = env!("CARGO_BIN_EXE_ldp-aggregator-under-test");

/// A daily GRR campaign over eight fruit, with 400 reports in today's epoch.
fn daily_campaign(server: &TestServer) -> (CampaignConfig, u64) {
    let values = [
        "apple",
        "pear",
        "fig, dried",
        "kiwi \"gold\"",
        "plum",
        "lime",
        "date",
        "yuzu",
    ];
    let mut spec = CampaignSpec::new(
        "fruit",
        Mechanism::Grr,
        2.0,
        Domain::Dictionary {
            values: values.iter().map(|v| (*v).to_owned()).collect(),
        },
    );
    spec.epoch_seconds = 86_400;
    spec.min_reports = 10;
    let config = server.create_campaign(&CampaignConfig::new(spec).unwrap());
    let epoch = current_epoch(&config);
    let mut encoder = Encoder::with_simulation_rng(&config, seeded_rng("analyst", 0));
    let mut batch = Batch::new(&config, epoch, BatchId([0xd7; 16]));
    batch.reports = (0..400)
        .map(|i| encoder.encode_index(i % 5).unwrap())
        .collect();
    let body = wire::encode(&batch).unwrap();
    let answer = server.post(
        "/v1/campaigns/fruit/reports",
        "application/x-ldp-batch",
        &body,
        None,
    );
    assert_eq!(answer.status, 202, "{}", answer.text);
    (config, epoch)
}

#[test]
fn dates_and_epoch_numbers_give_identical_answers_with_their_times() {
    let server = TestServer::start(BINARY, &Backend::Sqlite, &[]);
    let (_, epoch) = daily_campaign(&server);
    let time = EpochTime::new(86_400);
    let start = time.start(epoch).unwrap();
    let date = &start[..10];
    let by_number = server.estimates("fruit", &format!("?from={epoch}&to={epoch}"));
    assert_eq!(by_number.status, 200, "{}", by_number.text);
    assert_eq!(by_number.json["epochs"]["start"], start.as_str());
    assert_eq!(
        by_number.json["epochs"]["end"],
        time.end(epoch).unwrap().as_str()
    );
    for query in [
        format!("?from={date}&to={date}"),
        format!("?epoch={date}"),
        format!("?epoch={epoch}"),
        format!("?from={date}T00:00:00Z&to={date}T23:59:59Z"),
        format!("?from={date}T01:00:00%2B01:00&to={date}"),
    ] {
        let answer = server.estimates("fruit", &query);
        assert_eq!(answer.status, 200, "{query}: {}", answer.text);
        assert_eq!(answer.json, by_number.json, "{query}");
    }
    for bad in ["?from=yesterday", "?to=2026-02-30", "?epoch=1969-12-31"] {
        let answer = server.estimates("fruit", bad);
        assert_eq!(answer.status, 400, "{bad}: {}", answer.text);
        assert!(
            answer.text.contains("ISO 8601") || answer.text.contains("1970"),
            "{}",
            answer.text
        );
    }
    let trending = server.get(
        "/v1/campaigns/fruit/trending?epoch=not-a-day",
        Some(&server.analyst),
    );
    assert_eq!(trending.status, 400, "{}", trending.text);
}

#[test]
fn csv_answers_hold_the_json_rows() {
    let server = TestServer::start(BINARY, &Backend::Sqlite, &[]);
    daily_campaign(&server);
    let json = server.estimates("fruit", "?top=8");
    assert_eq!(json.status, 200, "{}", json.text);
    let csv = server.estimates("fruit", "?top=8&format=csv");
    assert_eq!(csv.status, 200, "{}", csv.text);
    assert!(
        csv.content_type.starts_with("text/csv"),
        "{}",
        csv.content_type
    );
    let head = format!(
        "GET /v1/campaigns/fruit/estimates?top=8 HTTP/1.1\r\nAuthorization: Bearer {}\r\n\
         Accept: text/csv\r\nConnection: close\r\n",
        server.analyst
    );
    let negotiated = server.raw(&head);
    assert_eq!(negotiated.text, csv.text);
    let mut lines = csv.text.split("\r\n").filter(|l| !l.is_empty());
    assert_eq!(
        lines.next(),
        Some("index,value,count,std_error,ci95_low,ci95_high,consistent_count")
    );
    let rows: Vec<Vec<String>> = lines.map(split_csv).collect();
    let values = json.json["values"].as_array().unwrap();
    assert_eq!(rows.len(), values.len());
    for (row, value) in rows.iter().zip(values) {
        assert_eq!(row[0], value["index"].to_string());
        assert_eq!(row[1], value["value"].as_str().unwrap());
        let number = |i: usize| row[i].parse::<f64>().unwrap();
        assert_eq!(number(2), value["count"].as_f64().unwrap());
        assert_eq!(number(3), value["std_error"].as_f64().unwrap());
        assert_eq!(number(4), value["ci95"][0].as_f64().unwrap());
        assert_eq!(number(5), value["ci95"][1].as_f64().unwrap());
        assert_eq!(number(6), value["consistent_count"].as_f64().unwrap());
    }
    // Labels with commas and quotes survive the round trip.
    assert!(rows.iter().any(|r| r[1] == "fig, dried"), "{rows:?}");
    assert!(rows.iter().any(|r| r[1] == "kiwi \"gold\""), "{rows:?}");
    let bad = server.estimates("fruit", "?format=xml");
    assert_eq!(bad.status, 400, "{}", bad.text);
}

/// The series route: chosen values per epoch, the same by date and by number, its CSV the
/// JSON's points row for row, each point the epoch's own estimate of the value.
#[test]
fn the_series_answers_in_json_and_csv_alike() {
    let server = TestServer::start(BINARY, &Backend::Sqlite, &[]);
    let (_, epoch) = daily_campaign(&server);
    let get = |query: &str| {
        server.get(
            &format!("/v1/campaigns/fruit/series{query}"),
            Some(&server.analyst),
        )
    };
    let values = "values=pear,apple,pear";
    let json = get(&format!("?{values}&from={epoch}&to={epoch}"));
    assert_eq!(json.status, 200, "{}", json.text);
    let date = &EpochTime::new(86_400).start(epoch).unwrap()[..10];
    assert_eq!(
        get(&format!("?{values}&from={date}&to={date}")).json,
        json.json
    );
    assert_eq!(
        get(&format!("?{values}")).json,
        json.json,
        "default: the last epochs"
    );
    let points = json.json["points"].as_array().unwrap();
    let labels: Vec<&str> = points
        .iter()
        .map(|p| p["value"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        ["pear", "apple"],
        "in the order asked, without repeats"
    );
    let estimates = server.estimates("fruit", &format!("?epoch={epoch}"));
    for point in points {
        let index = point["index"].as_u64().unwrap() as usize;
        let value = &estimates.json["values"][index];
        assert_eq!(point["count"], value["count"]);
        assert_eq!(point["n"], 400);
        let share = point["share"].as_f64().unwrap();
        assert!((share - value["count"].as_f64().unwrap() / 400.0).abs() < 1e-12);
    }
    let csv = get(&format!("?{values}&format=csv"));
    assert!(
        csv.content_type.starts_with("text/csv"),
        "{}",
        csv.content_type
    );
    let mut lines = csv.text.split("\r\n").filter(|l| !l.is_empty());
    assert_eq!(
        lines.next(),
        Some(
            "epoch,start,end,index,value,n,count,std_error,ci95_low,ci95_high,share,\
             share_ci95_low,share_ci95_high"
        )
    );
    let rows: Vec<Vec<String>> = lines.map(split_csv).collect();
    assert_eq!(rows.len(), points.len());
    for (row, point) in rows.iter().zip(points) {
        assert_eq!(row[0], point["epoch"].to_string());
        assert_eq!(row[1], point["start"].as_str().unwrap());
        assert_eq!(row[4], point["value"].as_str().unwrap());
        assert_eq!(
            row[6].parse::<f64>().unwrap(),
            point["count"].as_f64().unwrap()
        );
        assert_eq!(
            row[12].parse::<f64>().unwrap(),
            point["share_ci95"][1].as_f64().unwrap()
        );
    }
    for bad in [
        "",
        "?values=",
        "?values=mango",
        "?values=apple&from=0&to=400",
    ] {
        let answer = get(bad);
        assert_eq!(answer.status, 400, "{bad}: {}", answer.text);
    }
}

/// One RFC 4180 line into its fields.
fn split_csv(line: &str) -> Vec<String> {
    let (mut fields, mut field, mut quoted, mut chars) =
        (Vec::new(), String::new(), false, line.chars().peekable());
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    fields.push(field);
    fields
}
