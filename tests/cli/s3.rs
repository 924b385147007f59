//! Object-store roots, against a real S3-compatible server on 127.0.0.1: moto
//! in server mode, wrapped by `tests/s3/server.py`, which counts requests and
//! injects faults. Skipped when moto is not installed (CI installs it).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use predicates::str::contains;

use crate::fixture::{Pool, SET_OF_30, csv_rows, jpeg, json_of, scene};

const KEY: &str = "calibset-test-key";

/// AWS variables of the machine that would point calibset elsewhere.
const UNSET: [&str; 3] = ["AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE"];

/// A local S3 server holding a pool's files in the bucket `pool`.
struct S3 {
    child: Child,
    port: u16,
}

impl S3 {
    /// Starts the server with every file of `dir` uploaded to the bucket
    /// `pool`; `None` (the test skips) when moto is not installed.
    fn start(dir: &Path) -> Option<Self> {
        let has_moto = Command::new("python3")
            .args(["-c", "import moto.server, boto3"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !has_moto {
            crate::fixture::skip("moto not installed (CI installs it: pip install 'moto[server]')");
            return None;
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/s3/server.py");
        let mut child = Command::new("python3")
            .arg(script)
            .args(["--key", KEY, "--upload"])
            .arg(format!("pool={}", dir.display()))
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = Vec::new();
        let mut stdout = child.stdout.take().unwrap();
        let mut byte = [0u8];
        while stdout.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
            line.push(byte[0]);
        }
        let line = String::from_utf8(line).unwrap();
        let port = line
            .strip_prefix("ready ")
            .unwrap_or_else(|| panic!("the S3 server did not start: {line:?}"))
            .parse()
            .unwrap();
        Some(S3 { child, port })
    }

    /// The environment that points calibset at this server with the right
    /// credentials (a profile or session token of the machine is removed:
    /// [`UNSET`]).
    fn vars(&self) -> [(&'static str, String); 4] {
        [
            (
                "AWS_ENDPOINT_URL",
                format!("http://127.0.0.1:{}", self.port),
            ),
            ("AWS_ACCESS_KEY_ID", KEY.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "secret".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
        ]
    }

    /// `calibset` run in `pool`'s folder, pointed at this server.
    fn cmd(&self, pool: &Pool) -> assert_cmd::Command {
        let mut cmd = pool.cmd();
        for var in UNSET {
            cmd.env_remove(var);
        }
        cmd.envs(self.vars());
        cmd
    }

    /// One request to the server's control API; the response body.
    fn control(&self, action: &str, query: &str, body: &[u8]) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            s,
            "POST /_calibset/{action}?{query} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .unwrap();
        s.write_all(body).unwrap();
        let mut response = String::new();
        s.read_to_string(&mut response).unwrap();
        response.split("\r\n\r\n").nth(1).unwrap().to_owned()
    }

    /// The S3 requests since the last reset, by kind, and the keys read.
    fn requests(&self) -> serde_json::Value {
        let counts = serde_json::from_str(&self.control("requests", "", b"")).unwrap();
        self.control("reset", "", b"");
        counts
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The standard pool with its local `recipe.toml`, and `remote.toml`: the
/// same recipe with the roots in the bucket `pool`, in a folder of its own.
fn pools() -> (Pool, Pool) {
    let local = Pool::standard();
    local.write("frames/cam2/day/cut.jpg", &[0xFF, 0xD8, 0xFF, 0xE0, 0, 16]);
    local.recipe(SET_OF_30);
    let remote = Pool::empty();
    let text = std::fs::read_to_string(local.join("recipe.toml"))
        .unwrap()
        .replace(
            r#"roots = ["frames", "stills"]"#,
            r#"roots = ["s3://pool/frames", "s3://pool/stills/"]"#,
        );
    assert!(text.contains("s3://pool/frames"));
    remote.write("remote.toml", text.as_bytes());
    (local, remote)
}

/// The keys of the images a set locks, as the bucket holds them.
fn locked_keys(out: &Path) -> Vec<String> {
    // The second column is the source's name.
    let mut keys: Vec<String> = csv_rows(&out.join("manifest.csv"))
        .iter()
        .map(|r| format!("pool/{}", r[1]))
        .collect();
    keys.sort();
    keys
}

fn gets(requests: &serde_json::Value) -> Vec<String> {
    requests["gets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_build_over_s3_locks_the_same_set_and_a_warm_rerun_fetches_only_changed_objects() {
    let (local, remote) = pools();
    let Some(s3) = S3::start(local.path()) else {
        return;
    };
    local
        .cmd()
        .args(["build", "recipe.toml", "--out", "set", "-q"])
        .assert()
        .success();

    let build = |out: &str| {
        let mut cmd = s3.cmd(&remote);
        cmd.args(["build", "remote.toml", "--out", out, "--force", "--json"]);
        json_of(&mut cmd)
    };
    let cold = build("set");
    assert_eq!(cold["measure"]["decoded"], 72 + 6 + 2);
    for file in ["manifest.csv", "pool.csv"] {
        assert_eq!(
            std::fs::read(local.join("set").join(file)).unwrap(),
            std::fs::read(remote.join("set").join(file)).unwrap(),
            "{file} differs between the local and the S3 build"
        );
    }
    let cold_requests = s3.requests();
    assert_eq!(cold_requests["list"], 2, "{cold_requests}");
    // The damaged file is reported under the same name as from disk.
    assert!(
        cold["pool"]["issues"]
            .to_string()
            .contains("frames/cam2/day/cut.jpg")
    );

    // Warm: the listing only. The features come from the cache, the chosen
    // images' bytes from the set being replaced (same names, same blake3).
    let warm = build("set");
    assert_eq!(warm["measure"]["decoded"], 0);
    let requests = s3.requests();
    assert_eq!(requests["list"], 2, "{requests}");
    // One HEAD per chosen object: the look before writing.
    assert_eq!(requests["head"], 30, "{requests}");
    assert_eq!(gets(&requests), Vec::<String>::new());
    assert_eq!(
        std::fs::read(local.join("set/manifest.csv")).unwrap(),
        std::fs::read(remote.join("set/manifest.csv")).unwrap()
    );
    // Into a new folder, the chosen objects are downloaded.
    build("elsewhere");
    assert_eq!(gets(&s3.requests()), locked_keys(&remote.join("elsewhere")));

    // One object rewritten: it alone is fetched, to be measured again (and
    // once more to be copied, if the set keeps it).
    let changed = "pool/frames/cam3/day/0005.jpg";
    s3.control(
        "put",
        &format!("object={changed}"),
        &jpeg(&scene(4242, 0.0, 96, 72), 90),
    );
    s3.requests();
    let after = build("set");
    assert_eq!(after["measure"]["decoded"], 1);
    let mut fetched = gets(&s3.requests());
    fetched.dedup();
    assert_eq!(fetched, [changed]);
}

#[test]
fn an_unreadable_or_vanished_object_is_reported_and_the_build_goes_on() {
    let (local, remote) = pools();
    // A decompression bomb, refused from its first 64 KiB.
    local.write("stills/bomb.png", &crate::safety::huge_png(20_000, 20_000));
    let Some(s3) = S3::start(local.path()) else {
        return;
    };
    // Listed, then refused: one answers 403, the other 404 (deleted after the
    // listing).
    s3.control("deny", "object=pool/frames/cam1/day/0003.jpg", b"");
    s3.control(
        "deny",
        "object=pool/frames/cam2/night/0001.jpg&status=404",
        b"",
    );
    let mut cmd = s3.cmd(&remote);
    cmd.args(["build", "remote.toml", "--out", "set", "--json"]);
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let issues = report["pool"]["issues"].to_string();
    assert!(
        issues.contains("frames/cam1/day/0003.jpg")
            && issues
                .contains("s3://pool/frames/cam1/day/0003.jpg: access denied (403): AccessDenied"),
        "{issues}"
    );
    assert!(
        issues.contains("s3://pool/frames/cam2/night/0001.jpg: not found (404)"),
        "{issues}"
    );
    let bomb = report["pool"]["issues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["path"] == "stills/bomb.png")
        .unwrap();
    assert_eq!(bomb["kind"], "too-large");
    assert!(bomb["message"].as_str().unwrap().contains("400 megapixels"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("skipped"));
    let locked = std::fs::read_to_string(remote.join("set/manifest.csv")).unwrap();
    assert!(!locked.contains("cam1/day/0003.jpg") && !locked.contains("cam2/night/0001.jpg"));
}

/// `calibset` run in `remote`'s folder, pointed at `s3`, for tests that spawn it.
fn spawnable(s3: &S3, remote: &Pool) -> std::process::Command {
    let mut cmd = remote.spawnable();
    for var in UNSET {
        cmd.env_remove(var);
    }
    cmd.envs(s3.vars());
    cmd
}

#[test]
fn an_object_deleted_after_it_was_measured_leaves_the_set_and_its_slot_is_refilled() {
    let (local, remote) = pools();
    let Some(s3) = S3::start(local.path()) else {
        return;
    };
    let mut cmd = s3.cmd(&remote);
    cmd.args(["build", "remote.toml", "--out", "set", "-q"]);
    cmd.assert().success();
    let chosen = locked_keys(&remote.join("set"));
    let gone = chosen.iter().find(|k| k.contains("/day/")).unwrap().clone();
    // Warm: the cache describes every object, and nothing is fetched before
    // the set is written.
    let mut cmd = spawnable(&s3, &remote);
    cmd.args(["build", "remote.toml", "--out", "elsewhere", "--json"]);
    let out = crate::fixture::paused_before_writing(cmd, || {
        s3.control("delete", &format!("object={gone}"), b"");
    });
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["measure"]["decoded"], 0);
    // Named as the pool's other files are: by the root's name and the path in it.
    let rel = gone.strip_prefix("pool/").unwrap();
    let issue = report["pool"]["issues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "changed")
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(issue["path"], rel);
    assert_eq!(issue["message"], "deleted after it was measured");
    let now = locked_keys(&remote.join("elsewhere"));
    assert_eq!(now.len(), chosen.len());
    assert!(!now.contains(&gone));
}

#[test]
fn a_store_that_stops_answering_is_one_error_not_a_set_of_what_was_read() {
    let (local, remote) = pools();
    let Some(mut s3) = S3::start(local.path()) else {
        return;
    };
    // While the pool is read: an object the store answers 503 for (after
    // retries) stops the build instead of being skipped.
    s3.control(
        "deny",
        "object=pool/frames/cam1/day/0004.jpg&status=503",
        b"",
    );
    let mut cmd = s3.cmd(&remote);
    cmd.args(["build", "remote.toml", "--out", "set"]);
    cmd.assert()
        .code(2)
        .stderr(contains("the object store stopped answering"))
        .stderr(contains(
            "s3://pool/frames/cam1/day/0004.jpg: the store answered 503",
        ))
        .stderr(contains("nothing was written"));
    assert!(!remote.join("set").exists());

    // Before writing: a store gone (connection refused) is one error, the
    // earlier set kept. (The object now answers 403: a skipped file.)
    s3.control(
        "deny",
        "object=pool/frames/cam1/day/0004.jpg&status=403",
        b"",
    );
    let mut cmd = s3.cmd(&remote);
    cmd.args(["build", "remote.toml", "--out", "set", "-q"]);
    cmd.assert().success();
    let before = std::fs::read(remote.join("set/manifest.csv")).unwrap();
    let mut cmd = spawnable(&s3, &remote);
    cmd.args(["build", "remote.toml", "--out", "set", "--force"]);
    let out = crate::fixture::paused_before_writing(cmd, || {
        let _ = s3.child.kill();
        let _ = s3.child.wait();
    });
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("connection refused"), "{stderr}");
    assert!(!stderr.contains("timed out"), "{stderr}");
    assert_eq!(
        std::fs::read(remote.join("set/manifest.csv")).unwrap(),
        before
    );
}

#[test]
fn wrong_credentials_give_one_clear_error() {
    let (local, remote) = pools();
    let Some(s3) = S3::start(local.path()) else {
        return;
    };
    let mut cmd = s3.cmd(&remote);
    cmd.env("AWS_ACCESS_KEY_ID", "AKIAWRONG")
        .args(["build", "remote.toml", "--out", "set"]);
    let out = cmd.assert().code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert_eq!(stderr.matches("calibset: error").count(), 1, "{stderr}");
    assert!(
        stderr.contains("s3://pool/frames: access denied (403): InvalidAccessKeyId")
            && stderr.contains("check AWS_ACCESS_KEY_ID"),
        "{stderr}"
    );
    assert!(!remote.join("set").exists());

    // No credentials at all: the client asks the instance metadata service,
    // whose refusal is not the store's 403.
    let mut cmd = s3.cmd(&remote);
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .args(["build", "remote.toml", "--out", "set"]);
    let out = cmd.assert().code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("s3://pool/frames: no credentials: set AWS_ACCESS_KEY_ID"),
        "{stderr}"
    );
    assert!(!remote.join("set").exists());
}

#[test]
fn links_to_objects_and_outputs_in_a_store_are_refused() {
    let (local, remote) = pools();
    let Some(s3) = S3::start(local.path()) else {
        return;
    };
    let mut cmd = s3.cmd(&remote);
    cmd.args(["build", "remote.toml", "--out", "set", "--mode", "symlink"])
        .assert()
        .code(2)
        .stderr(contains(
            "source root s3://pool/frames is in an object store",
        ));
    let mut cmd = s3.cmd(&remote);
    cmd.args(["build", "remote.toml", "--out", "s3://pool/sets/x"])
        .assert()
        .code(2)
        .stderr(contains("the set is written to a local folder"));
    let mut cmd = s3.cmd(&remote);
    cmd.args(["audit", "remote.toml", "--html", "s3://pool/page.html"])
        .assert()
        .code(2)
        .stderr(contains(
            "--html s3://pool/page.html: the report is written to a local file",
        ));
    assert_eq!(s3.requests()["list"], 0);
    assert_eq!(remote.files(""), ["remote.toml"]);
}

#[test]
fn audit_reads_a_bucket_prefix_named_on_the_command_line() {
    let (local, remote) = pools();
    let Some(s3) = S3::start(local.path()) else {
        return;
    };
    let mut cmd = s3.cmd(&remote);
    cmd.args(["audit", "s3://pool/stills", "--json", "--html", "page.html"]);
    let audit = json_of(&mut cmd);
    // The page's thumbnails are read from the store too.
    let page = std::fs::read_to_string(remote.join("page.html")).unwrap();
    assert!(page.contains("data:image/jpeg;base64,"), "no thumbnail");
    assert_eq!(audit["report"]["pool"]["scanned"], 2, "{audit}");
    assert_eq!(audit["duplicates"], 1, "{audit}");
}

#[test]
fn a_pool_in_a_store_is_indexed_and_built_from_an_index_in_the_store() {
    let (local, remote) = pools();
    let Some(s3) = S3::start(local.path()) else {
        return;
    };
    local
        .cmd()
        .args(["build", "recipe.toml", "--out", "set", "-q"])
        .assert()
        .success();
    for shard in ["0/2", "1/2"] {
        let mut cmd = s3.cmd(&remote);
        cmd.args([
            "index",
            "remote.toml",
            "--out",
            "idx",
            "--shard",
            shard,
            "--no-cache",
            "-q",
        ]);
        cmd.assert().success();
    }
    for part in remote.files("idx") {
        let bytes = std::fs::read(remote.join("idx").join(&part)).unwrap();
        s3.control("put", &format!("object=pool/index/{part}"), &bytes);
    }
    s3.requests();
    let mut cmd = s3.cmd(&remote);
    cmd.args([
        "build",
        "remote.toml",
        "--index",
        "s3://pool/index/",
        "--out",
        "set",
        "--no-cache",
        "--json",
    ]);
    let built = json_of(&mut cmd);
    assert_eq!(built["measure"]["decoded"], 0, "{}", built["measure"]);
    assert_eq!(built["measure"]["from_index"], 80, "{}", built["measure"]);
    assert_eq!(
        std::fs::read(local.join("set/manifest.csv")).unwrap(),
        std::fs::read(remote.join("set/manifest.csv")).unwrap()
    );
    // Fetched: the two shards, and the chosen images for the copy.
    let mut expected = locked_keys(&remote.join("set"));
    expected.extend(
        [
            "pool/index/part-00000-of-00002.parquet",
            "pool/index/part-00001-of-00002.parquet",
        ]
        .map(str::to_owned),
    );
    expected.sort();
    assert_eq!(gets(&s3.requests()), expected);
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_a_build_waiting_on_a_stalled_store() {
    let (local, remote) = pools();
    let Some(s3) = S3::start(local.path()) else {
        return;
    };
    s3.control(
        "stall",
        "object=pool/frames/cam3/rain/0002.jpg&seconds=120",
        b"",
    );
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("calibset"));
    for var in UNSET {
        cmd.env_remove(var);
    }
    cmd.current_dir(remote.path()).envs(s3.vars()).args([
        "build",
        "remote.toml",
        "--out",
        "set",
        "--no-cache",
        "-v",
    ]);
    let running = crate::fixture::Running::past_scan(&mut cmd);
    // Every other object is measured at once; the build then waits on the
    // stalled one.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let asked = std::time::Instant::now();
    let (code, rest) = running.interrupt();
    assert_eq!(code, Some(130), "{rest}");
    // It did not wait for the stalled read (120 s) or a request timeout.
    assert!(asked.elapsed().as_secs() < 20, "{:?}", asked.elapsed());
    assert!(rest.contains("interrupted; nothing was written"), "{rest}");
    assert_eq!(remote.files(""), ["remote.toml"]);
}

#[test]
fn check_asks_the_store_and_a_misspelt_prefix_is_one_error() {
    let (local, remote) = pools();
    let Some(s3) = S3::start(local.path()) else {
        return;
    };
    let mut cmd = s3.cmd(&remote);
    cmd.args(["check", "remote.toml"]).assert().success();
    let mut cmd = s3.cmd(&remote);
    cmd.env("AWS_ACCESS_KEY_ID", "AKIAWRONG")
        .args(["check", "remote.toml"])
        .assert()
        .code(2)
        .stderr(contains(
            "sources.roots: s3://pool/frames: access denied (403): InvalidAccessKeyId",
        ));
    let text = std::fs::read_to_string(remote.join("remote.toml"))
        .unwrap()
        .replace("s3://pool/stills/", "s3://pool/stils/");
    remote.write("typo.toml", text.as_bytes());
    let mut cmd = s3.cmd(&remote);
    cmd.args(["check", "typo.toml"])
        .assert()
        .code(2)
        .stderr(contains("sources.roots: s3://pool/stils holds no object"));
    let mut cmd = s3.cmd(&remote);
    cmd.args(["build", "typo.toml", "--out", "set"])
        .assert()
        .code(2)
        .stderr(contains(
            "source root s3://pool/stils holds no object; check the bucket and prefix",
        ));
    assert!(!remote.join("set").exists());
}

#[test]
fn yolo_labels_and_names_are_read_from_the_store() {
    let local = crate::annotations::yolo_pool();
    std::fs::write(local.join("yolo.toml"), crate::annotations::RECIPE).unwrap();
    let Some(s3) = S3::start(local.path()) else {
        return;
    };
    local
        .cmd()
        .args(["build", "--recipe", "yolo.toml", "-q"])
        .assert()
        .success();
    let remote = Pool::empty();
    let text = crate::annotations::RECIPE
        .replace(
            r#"roots = ["ds/images"]"#,
            r#"roots = ["s3://pool/ds/images"]"#,
        )
        .replace(r#"path = "ds""#, r#"path = "s3://pool/ds""#)
        .replace(
            r#"names = "ds/names.txt""#,
            r#"names = "s3://pool/ds/names.txt""#,
        );
    assert_eq!(text.matches("s3://").count(), 3);
    remote.write("yolo.toml", text.as_bytes());
    let mut cmd = s3.cmd(&remote);
    cmd.args(["build", "--recipe", "yolo.toml", "-q"])
        .assert()
        .success();
    // The same labels, buckets, tags and classes; the local root sits in
    // `ds/` of the recipe folder, the store's root goes by its own name.
    let local_lock = std::fs::read_to_string(local.join("out/manifest.csv"))
        .unwrap()
        .replace("ds__images", "images")
        .replace("ds/images", "images");
    let remote_lock = std::fs::read_to_string(remote.join("out/manifest.csv")).unwrap();
    assert_eq!(remote_lock.lines().count(), 1 + 36);
    assert!(
        remote_lock.matches("far-small").count() >= 8,
        "{remote_lock}"
    );
    assert_eq!(local_lock, remote_lock);
}
