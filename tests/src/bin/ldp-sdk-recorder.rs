//! A device that never stops: records values through `ldp-sdk` and uploads what is due, in a
//! loop, until it is killed. The crash test kills it at random moments.
//!
//! Usage: `ldp-sdk-recorder DATA_DIR COLLECTOR_URL CAMPAIGN`

use std::sync::Arc;
use std::time::Duration;

use ldp_sdk::{Client, ClientOptions, SdkError, SystemClock, UreqTransport};

fn main() -> Result<(), SdkError> {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, url, campaign] = args.as_slice() else {
        eprintln!("usage: ldp-sdk-recorder DATA_DIR COLLECTOR_URL CAMPAIGN");
        std::process::exit(2);
    };
    let options = ClientOptions {
        release_window_seconds: Some(1),
        retry_base_seconds: 1,
        ..ClientOptions::default()
    };
    let client = Client::open_with(
        dir,
        url,
        options,
        Arc::new(UreqTransport::default()),
        Arc::new(SystemClock),
    )?;
    for i in 0u32.. {
        match client.record_index(campaign, i % 8) {
            Ok(()) => {}
            Err(SdkError::BudgetExhausted { .. }) => {
                client.upload_pending()?;
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
