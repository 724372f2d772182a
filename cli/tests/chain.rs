//! The whole protocol on a real Ethereum node (anvil, from tools/js), through
//! the `proofmint` binary as a user runs it: deploy, stake, pay, export the
//! payments, build, audit and post epochs, claim, and release; and the attacks
//! as real transactions: a stranger's claim of a node's leaf, a claim before
//! the challenge window ends, and a dishonest operator's epoch challenged and
//! voided. Skipped (loudly) where anvil is not installed, unless
//! PROOFMINT_REQUIRE_JS is set, as scripts/test.sh does.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use alloy_primitives::{Address, U256};
use ark_bn254::Fr;
use k256::ecdsa::SigningKey;
use proofmint_circuits::payment::job_id_of;
use proofmint_circuits::receipt::{address_of, Receipt, ReceiptDomain};
use proofmint_prover::chain::DeploymentFile;

/// anvil's first accounts (its public development mnemonic).
const KEYS: [&str; 5] = [
    "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
];
const DEPLOYER: usize = 0;
const OPERATOR: usize = 1;
const CLIENT: usize = 2;
const NODE: usize = 3;
const ATTACKER: usize = 4;
const WINDOW: u64 = 60;
/// Runs a command with no signing key at all (commands that sign nothing need none).
const NOBODY: usize = usize::MAX;

fn signing_key(who: usize) -> SigningKey {
    SigningKey::from_slice(&hex::decode(KEYS[who]).unwrap()).unwrap()
}

fn account(who: usize) -> Address {
    address_of(&signing_key(who))
}

use proofmint_contracts::rpc::Anvil;

fn start_anvil() -> Option<Anvil> {
    let binary = proofmint_contracts::js_tool("anvil")?;
    Some(Anvil::spawn(&binary, &[]).expect("anvil starts"))
}

struct World {
    anvil: Anvil,
    dir: tempfile::TempDir,
}

impl World {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `proofmint ARGS` signed by `who` (key in the environment, never a flag), or
    /// with no key for [`NOBODY`].
    fn run(&self, who: usize, args: &[&str]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_proofmint"));
        command.args(args);
        if args.first() == Some(&"chain") {
            command.args(["--rpc", &self.anvil.url]);
            if args.get(1) != Some(&"deploy") && args.get(1) != Some(&"advance-time") {
                command.args([
                    "--deployment",
                    self.path("deployment.json").to_str().unwrap(),
                ]);
            }
        }
        match KEYS.get(who) {
            Some(key) => command.env("PROOFMINT_PRIVATE_KEY", key),
            None => command.env_remove("PROOFMINT_PRIVATE_KEY"),
        };
        command.output().expect("proofmint runs")
    }

    fn ok(&self, who: usize, args: &[&str]) -> String {
        let out = self.run(who, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "proofmint {args:?} failed: {stderr}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn fails(&self, who: usize, args: &[&str]) -> String {
        let out = self.run(who, args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(1),
            "proofmint {args:?} should fail: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        stderr
    }

    fn deployment(&self) -> DeploymentFile {
        DeploymentFile::load(&self.path("deployment.json")).unwrap()
    }

    /// The client pays for `units` (salt by salt) for `node` in `epoch` and
    /// signs the receipts; returns them as JSON lines.
    fn jobs(&self, epoch: u64, first_salt: u64, units: &[u64], pay: bool) -> Vec<String> {
        let domain: ReceiptDomain = self.deployment().domain();
        units
            .iter()
            .enumerate()
            .map(|(i, &u)| {
                let salt = first_salt + i as u64;
                if pay {
                    self.ok(
                        CLIENT,
                        &[
                            "chain",
                            "pay",
                            "--salt",
                            &salt.to_string(),
                            "--node",
                            &account(NODE).to_string(),
                            "--epoch",
                            &epoch.to_string(),
                            "--units",
                            &u.to_string(),
                        ],
                    );
                }
                Receipt {
                    job_id: job_id_of(account(CLIENT), U256::from(salt)),
                    node: account(NODE),
                    client: account(CLIENT),
                    epoch,
                    units: u,
                    kind: 0,
                    input_commitment: Fr::from(salt),
                    output_commitment: Fr::from(salt + 1),
                }
                .sign(&domain, &signing_key(CLIENT))
                .to_json_line()
            })
            .collect()
    }

    /// Builds (against `payments`) and writes the bundle of `lines` for `epoch`.
    fn build(&self, epoch: u64, lines: &[String], payments: &Path) -> PathBuf {
        let receipts = self.path(&format!("receipts{epoch}.jsonl"));
        std::fs::write(&receipts, lines.join("\n") + "\n").unwrap();
        let out = self.path(&format!("epoch{epoch}"));
        let registry = self.deployment().addresses.registry.to_string();
        self.ok(
            OPERATOR,
            &[
                "epoch",
                "build",
                "--receipts",
                receipts.to_str().unwrap(),
                "--payments",
                payments.to_str().unwrap(),
                "--epoch",
                &epoch.to_string(),
                "--chain-id",
                "31337",
                "--registry",
                &registry,
                "--depth",
                "8",
                "--out",
                out.to_str().unwrap(),
            ],
        );
        out
    }

    fn export_payments(&self) -> PathBuf {
        let path = self.path("payments.jsonl");
        self.ok(
            OPERATOR,
            &["chain", "payments", "--out", path.to_str().unwrap()],
        );
        path
    }

    /// Pays, builds, audits and posts an honest epoch of `units`.
    fn honest_epoch(&self, epoch: u64, first_salt: u64, units: &[u64]) -> PathBuf {
        let lines = self.jobs(epoch, first_salt, units, true);
        let payments = self.export_payments();
        let dir = self.build(epoch, &lines, &payments);
        let registry = self.deployment().addresses.registry.to_string();
        self.ok(
            ATTACKER, // any auditor
            &[
                "audit",
                dir.to_str().unwrap(),
                "--payments",
                payments.to_str().unwrap(),
                "--chain-id",
                "31337",
                "--registry",
                &registry,
            ],
        );
        self.ok(
            OPERATOR,
            &["chain", "post-epoch", "--epoch", dir.to_str().unwrap()],
        );
        dir
    }
}

#[test]
fn the_protocol_end_to_end_on_anvil_and_its_attacks_as_real_transactions() {
    let Some(anvil) = start_anvil() else { return };
    let world = World {
        anvil,
        dir: tempfile::tempdir().unwrap(),
    };
    let keys = world.path("keys");
    world.ok(
        DEPLOYER,
        &[
            "setup",
            "--slots",
            "4",
            "--depth",
            "8",
            "--out",
            keys.to_str().unwrap(),
            "--seed",
            "3",
        ],
    );
    let deployment = world.path("deployment.json");
    let (operator, proposer, holder, window) = (
        account(OPERATOR).to_string(),
        account(DEPLOYER).to_string(),
        account(CLIENT).to_string(),
        WINDOW.to_string(),
    );
    let deploy: Vec<&str> = vec![
        "chain",
        "deploy",
        "--keys",
        keys.to_str().unwrap(),
        "--out",
        deployment.to_str().unwrap(),
        "--operator",
        &operator,
        "--proposer",
        &proposer,
        "--genesis-holder",
        &holder,
        "--challenge-window",
        &window,
    ];
    // Development keys let whoever made them mint at will: refused unless
    // allowed, on a development chain (anvil's 31337 is one).
    let refused = world.fails(DEPLOYER, &deploy);
    assert!(refused.contains("development setup"), "{refused}");
    assert!(!deployment.exists(), "nothing deployed");
    let mut allowed = deploy.clone();
    allowed.push("--allow-development-keys");
    let deployed = world.ok(DEPLOYER, &allowed);
    assert!(deployed.contains("registry"), "{deployed}");
    let d = world.deployment();
    assert_eq!(d.chain_id, 31337);

    // A node stakes for epochs 1..=2; the client funds it from the genesis supply.
    world.ok(
        CLIENT,
        &[
            "chain",
            "transfer",
            "--to",
            &account(NODE).to_string(),
            "--amount",
            "3000",
        ],
    );
    world.ok(
        NODE,
        &[
            "chain", "stake", "--amount", "2500", "--start", "1", "--end", "2",
        ],
    );

    // Epoch 1: five paid jobs, posted.
    let epoch1 = world.honest_epoch(1, 0, &[100, 200, 300, 400, 500]);

    // A stranger proves the node's last leaf and submits it: refused by name.
    let stranger_proof = world.path("stranger");
    world.ok(
        ATTACKER,
        &[
            "prove",
            "claim",
            "--epoch",
            epoch1.to_str().unwrap(),
            "--node",
            &account(NODE).to_string(),
            "--keys",
            keys.to_str().unwrap(),
            "--out",
            stranger_proof.to_str().unwrap(),
            "--from-index",
            "4",
        ],
    );
    let err = world.fails(
        ATTACKER,
        &[
            "chain",
            "claim",
            "--proof",
            stranger_proof.to_str().unwrap(),
        ],
    );
    assert!(err.contains("ClaimNotAuthorized"), "{err}");

    // The node's own claim waits for the challenge window.
    let proof = world.path("proof1");
    world.ok(
        NODE,
        &[
            "prove",
            "claim",
            "--epoch",
            epoch1.to_str().unwrap(),
            "--node",
            &account(NODE).to_string(),
            "--keys",
            keys.to_str().unwrap(),
            "--out",
            proof.to_str().unwrap(),
        ],
    );
    let err = world.fails(
        NODE,
        &["chain", "claim", "--proof", proof.to_str().unwrap()],
    );
    assert!(err.contains("EpochNotFinal"), "{err}");
    world.ok(
        NOBODY,
        &["chain", "advance-time", "--seconds", &WINDOW.to_string()],
    );
    let claimed = world.ok(
        NODE,
        &["chain", "claim", "--proof", proof.to_str().unwrap()],
    );
    assert!(
        claimed.contains("claimed 1000 units of epoch 1"),
        "{claimed}"
    );
    world.ok(
        NODE,
        &[
            "chain",
            "claim",
            "--proof",
            stranger_proof.to_str().unwrap(),
        ],
    );

    // Epoch 2: a dishonest operator admits a receipt nobody paid for (its own
    // doctored payments file), posts it, and anyone voids the epoch.
    let mut lines = world.jobs(2, 100, &[700], true);
    lines.extend(world.jobs(2, 200, &[1_000_000], false));
    let real = world.export_payments();
    let doctored = world.path("doctored.jsonl");
    let mut text = std::fs::read_to_string(&real).unwrap();
    text.push_str(&format!(
        "{{\"jobId\":\"{}\",\"client\":\"{}\",\"node\":\"{}\",\"epoch\":2,\"units\":1000000}}\n",
        proofmint_circuits::field::fr_to_hex(&job_id_of(account(CLIENT), U256::from(200u64))),
        account(CLIENT),
        account(NODE)
    ));
    std::fs::write(&doctored, text).unwrap();
    let epoch2 = world.build(2, &lines, &doctored);
    world.ok(
        OPERATOR,
        &["chain", "post-epoch", "--epoch", epoch2.to_str().unwrap()],
    );
    let challenged = world.ok(
        ATTACKER,
        &[
            "chain",
            "challenge",
            "--epoch",
            epoch2.to_str().unwrap(),
            "--payments",
            real.to_str().unwrap(),
        ],
    );
    assert!(
        challenged.contains("voided") && challenged.contains("Unpaid"),
        "{challenged}"
    );
    // A clean bundle has nothing to challenge.
    let err = world.fails(
        ATTACKER,
        &[
            "chain",
            "challenge",
            "--epoch",
            epoch1.to_str().unwrap(),
            "--payments",
            real.to_str().unwrap(),
        ],
    );
    assert!(err.contains("no offence"), "{err}");

    // Epochs 3 and 4 pass; then anyone releases the node's stake. Epoch 1 delivered
    // 1500 of 2500 units and epoch 2 was voided (excused): 40% is slashed.
    world.honest_epoch(3, 300, &[10]);
    world.honest_epoch(4, 400, &[10]);
    world.ok(
        NOBODY,
        &["chain", "advance-time", "--seconds", &WINDOW.to_string()],
    );
    let released = world.ok(
        ATTACKER,
        &["chain", "release", "--node", &account(NODE).to_string()],
    );
    assert!(
        released.contains("1500000000000000000000 returned")
            && released.contains("1000000000000000000000 slashed"),
        "{released}"
    );
    let _ = d;
}
