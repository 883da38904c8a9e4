//! `update_with` and masked secrets, against the emulator: by default a
//! secret read masked is not written back; read in clear (admin role) or
//! set by the edit it is; written back masked only when the caller accepts
//! the risk, which the emulator can show both ways (it keeps the secret,
//! or, like a server that does not, stores the mask).

use super::common::{self, WS};
use blaxel_jobs::{Client, Error, JobBuilder, UpdateRefusal};
use blaxel_jobs_emulator::{Clock, Emulator, EmulatorConfig};

const NAME: &str = "with-secret";
const SECRET: &str = "tok-123-secret";

/// An emulator with a member key (no admin role), its admin client, and a
/// job with a secret and a plain variable.
async fn setup(config: EmulatorConfig) -> (Emulator, Client) {
    let (emu, client) =
        common::start(config.clock(Clock::Manual).member_api_key("member-key")).await;
    let job = JobBuilder::new(NAME)
        .memory(1024)
        .secret_env("API_TOKEN", SECRET)
        .env("MODE", "full")
        .build()
        .unwrap();
    client.jobs().create(job).send().await.unwrap();
    (emu, client)
}

/// The stored value of the secret, read in clear, and the revision count.
async fn stored(client: &Client) -> (Option<String>, usize) {
    let job = client
        .job(NAME)
        .get()
        .show_secrets(true)
        .send()
        .await
        .unwrap();
    let value = job
        .spec
        .runtime
        .unwrap()
        .envs
        .into_iter()
        .find(|e| e.name.as_deref() == Some("API_TOKEN"))
        .and_then(|e| e.value);
    let revisions = client.job(NAME).revisions().send().await.unwrap().len();
    (value, revisions)
}

fn set_mode(job: &mut blaxel_jobs::types::Job) {
    let envs = &mut job.spec.runtime.as_mut().unwrap().envs;
    let mode = envs
        .iter_mut()
        .find(|e| e.name.as_deref() == Some("MODE"))
        .unwrap();
    mode.value = Some("fast".into());
}

#[tokio::test]
async fn a_masked_secret_is_not_written_back_by_default() {
    let (_emu, client) = setup(EmulatorConfig::default()).await;
    let err = client
        .job(NAME)
        .update_with(set_mode)
        .send()
        .await
        .unwrap_err();
    match &err {
        Error::UpdateRefused(r) => {
            assert_eq!(r.reason(), UpdateRefusal::MaskedSecrets);
            assert_eq!(r.fields(), ["spec.runtime.envs[name=API_TOKEN]"]);
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.to_string().contains(SECRET));
    assert_eq!(
        stored(&client).await,
        (Some(SECRET.into()), 1),
        "nothing written"
    );
}

#[tokio::test]
async fn read_in_clear_by_an_admin_the_secret_is_written_back_as_it_is() {
    // Even on a server that would store a mask: none is sent.
    let (_emu, client) = setup(EmulatorConfig::default().keep_masked_secrets(false)).await;
    client
        .job(NAME)
        .update_with(set_mode)
        .show_secrets(true)
        .send()
        .await
        .unwrap();
    assert_eq!(stored(&client).await, (Some(SECRET.into()), 2));
}

#[tokio::test]
async fn a_member_without_the_admin_role_cannot_read_in_clear() {
    let (emu, admin) = setup(EmulatorConfig::default()).await;
    let member = Client::builder()
        .ignore_environment()
        .base_url(emu.base_url())
        .api_key("member-key")
        .workspace(WS)
        .build()
        .unwrap();
    let err = member
        .job(NAME)
        .update_with(set_mode)
        .show_secrets(true)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_forbidden(), "{err}");
    // Masked, the member gets the refusal, as anyone would.
    let err = member
        .job(NAME)
        .update_with(set_mode)
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UpdateRefused(_)), "{err}");
    assert_eq!(stored(&admin).await, (Some(SECRET.into()), 1));
}

#[tokio::test]
async fn a_secret_the_edit_sets_is_written() {
    let (_emu, client) = setup(EmulatorConfig::default()).await;
    client
        .job(NAME)
        .update_with(|job| {
            let envs = &mut job.spec.runtime.as_mut().unwrap().envs;
            let token = envs.iter_mut().find(|e| e.is_secret()).unwrap();
            token.value = Some("rotated".into());
        })
        .send()
        .await
        .unwrap();
    assert_eq!(stored(&client).await, (Some("rotated".into()), 2));
}

#[tokio::test]
async fn accepting_the_risk_writes_the_mask_back_and_the_server_decides() {
    // A server that keeps a secret whose mask comes back (the emulator's
    // default): the secret survives. A server that stores what it gets:
    // the secret becomes its mask, the risk the setting's docs name.
    for (keeps, left) in [(true, SECRET), (false, "***")] {
        let (_emu, client) = setup(EmulatorConfig::default().keep_masked_secrets(keeps)).await;
        client
            .job(NAME)
            .update_with(set_mode)
            .allow_masked_secrets(true)
            .send()
            .await
            .unwrap();
        assert_eq!(
            stored(&client).await,
            (Some(left.into()), 2),
            "keeps: {keeps}"
        );
    }
}
