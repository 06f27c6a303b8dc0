//! Root-of-trust types through API Gateway on the deployed primary: a device claims only a
//! type its manufacturer root is published for (the accepted root's `rot_types`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use trustreg_core::ports::DeviceStore;
use trustreg_device::{ClientError, RegistryClient};
use trustreg_tests::devices::certified_device;
use trustreg_tests::{Stack, localstack, sensor_info};

// Y.3059 7 ii
// Y.3059 9.2 i a
// The test manufacturer's root is published for `secure-element` only: its device claiming a
// `tpm` is a 403 problem (`rot-type-not-published`) and nothing is stored; the same device
// claiming `secure-element` then registers, so the type was what was refused.
#[tokio::test]
async fn a_rot_type_the_devices_root_is_not_published_for_is_refused() {
    let stack = Stack::deployed();
    let (_maker, id, se) = certified_device(&stack).await;
    let client = RegistryClient::new(stack.api_url()).unwrap();
    let mut tpm = sensor_info();
    tpm.rot.kind = "tpm".into();
    let refused = client.register(&se, &id, tpm, vec![]).await.unwrap_err();
    let ClientError::Problem {
        status,
        problem_type,
        ..
    } = &refused
    else {
        panic!("not a problem: {refused:?}");
    };
    assert_eq!(*status, 403, "{refused:?}");
    assert_eq!(
        problem_type,
        "https://trustreg.dev/problems/rot-type-not-published"
    );
    let regdevid = format!("{}:{id}", stack.output("RegistryPath"));
    let store = stack.store(&localstack().await);
    let stored = store.get_device(&regdevid.parse().unwrap()).await.unwrap();
    assert!(stored.is_none(), "stored after the refusal: {stored:?}");

    let registered = client
        .register(&se, &id, sensor_info(), vec![])
        .await
        .expect("the published type registers");
    assert_eq!(registered.regdevid, regdevid);
}
