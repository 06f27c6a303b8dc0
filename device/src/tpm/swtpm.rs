//! A throwaway software TPM for tests: `swtpm_setup` authors a TPM state with an ECC P-384 EK
//! and its certificate from a local CA of its own (in a temp directory, not the machine's
//! `/var/lib/swtpm-localca`), then `swtpm socket` serves it on a free TCP port until dropped.
//! A machine without swtpm fails the test that asks for one, saying so: TPM evidence is not
//! something to skip silently.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running swtpm and the CA that certified its EK.
pub struct Swtpm {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Swtpm {
    /// Authors and starts a new TPM. Panics (this is test support) with what is missing.
    #[allow(clippy::expect_used)]
    pub fn start() -> Swtpm {
        for tool in ["swtpm", "swtpm_setup", "swtpm_localca"] {
            let found = Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            assert!(
                found,
                "{tool} is not installed: the TPM tests need swtpm and swtpm-tools \
                 (apt-get install swtpm swtpm-tools tpm2-tools libtss2-dev; scripts/test does)"
            );
        }
        let dir = std::env::temp_dir().join(format!(
            "trustreg-swtpm-{}-{:016x}",
            std::process::id(),
            rand_core::RngCore::next_u64(&mut rand_core::OsRng)
        ));
        let ca = dir.join("ca");
        let state = dir.join("state");
        std::fs::create_dir_all(&ca).expect("swtpm temp dir");
        std::fs::create_dir_all(&state).expect("swtpm temp dir");
        let localca_conf = dir.join("swtpm-localca.conf");
        std::fs::write(
            &localca_conf,
            format!(
                "statedir = {ca}\nsigningkey = {ca}/signkey.pem\nissuercert = {ca}/issuercert.pem\ncertserial = {ca}/certserial\n",
                ca = ca.display()
            ),
        )
        .expect("swtpm-localca.conf");
        let setup_conf = dir.join("swtpm_setup.conf");
        std::fs::write(
            &setup_conf,
            format!(
                "create_certs_tool = /usr/bin/swtpm_localca\ncreate_certs_tool_config = {}\ncreate_certs_tool_options = /etc/swtpm-localca.options\nactive_pcr_banks = sha256\n",
                localca_conf.display()
            ),
        )
        .expect("swtpm_setup.conf");
        let output = Command::new("swtpm_setup")
            .args([
                "--tpm2",
                "--ecc",
                "--create-ek-cert",
                "--create-platform-cert",
            ])
            .arg("--tpmstate")
            .arg(&state)
            .arg("--config")
            .arg(&setup_conf)
            .output()
            .expect("swtpm_setup runs");
        assert!(
            output.status.success(),
            "swtpm_setup failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let port = free_port_pair();
        let child = Command::new("swtpm")
            .args(["socket", "--tpm2", "--flags", "not-need-init,startup-clear"])
            .arg("--server")
            .arg(format!("type=tcp,port={port},bindaddr=127.0.0.1"))
            .arg("--ctrl")
            .arg(format!("type=tcp,port={},bindaddr=127.0.0.1", port + 1))
            .arg("--tpmstate")
            .arg(format!("dir={}", state.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("swtpm starts");
        let swtpm = Swtpm { child, dir, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "swtpm did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        swtpm
    }

    /// The TCTI configuration tss-esapi opens it with.
    pub fn tcti(&self) -> String {
        format!("swtpm:host=127.0.0.1,port={}", self.port)
    }

    /// The DER of the local CA's root (what a registry would accept for `tpm`) and of the
    /// intermediate that signed the EK certificate.
    #[allow(clippy::expect_used)]
    pub fn ca_chain(&self) -> (Vec<u8>, Vec<u8>) {
        let ca = self.dir.join("ca");
        (
            pem_der(&ca.join("swtpm-localca-rootca-cert.pem")),
            pem_der(&ca.join("issuercert.pem")),
        )
    }
}

impl Drop for Swtpm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[allow(clippy::expect_used)]
fn pem_der(path: &Path) -> Vec<u8> {
    use base64::Engine as _;
    let pem = std::fs::read_to_string(path).expect("CA certificate");
    let body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("PEM body")
}

#[allow(clippy::expect_used)]
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A port whose successor is free too (swtpm's control channel).
fn free_port_pair() -> u16 {
    loop {
        let port = free_port();
        if port < u16::MAX && TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
}
