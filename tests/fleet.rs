//! `watch` and `send` over several targets, through the real binary against
//! `amicon serve` (the simulated PBX): the merged stream names each server, a target
//! nobody listens on is retried without stopping the others and fails the exit code,
//! and the raw output reads back as a recording with the servers.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_amicon");

struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn serve() -> Server {
    let addr = format!("127.0.0.1:{}", free_port());
    let child = Command::new(BIN)
        .args(["serve", "--listen", &addr, "--flood", "200", "--rate", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(&addr).is_err() {
        assert!(Instant::now() < deadline, "amicon serve did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    Server { child, addr }
}

fn amicon(args: &[&str]) -> Output {
    let child = Command::new(BIN)
        .args(args)
        .env("AMI_SECRET", "demo")
        .env("XDG_CONFIG_HOME", "/nonexistent-amicon-test-config")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read the pipes while waiting (a full pipe would stall amicon), within a limit.
    let pid = child.id().to_string();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
            panic!("amicon {args:?} did not finish");
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn watch_merges_servers_and_a_dead_one_neither_stops_the_others_nor_passes_unnoticed() {
    let (a, b) = (serve(), serve());
    let dead = format!("demo@127.0.0.1:{}", free_port());
    let (ta, tb) = (format!("demo@{}", a.addr), format!("demo@{}", b.addr));
    let targets = format!("{ta},{dead},{tb}");
    let out = amicon(&["watch", &targets, "--json", "--count", "400"]);
    let stderr = text(&out.stderr);
    // The dead target was retried (reported on stderr), the others were watched.
    assert!(
        stderr.contains(&format!("{dead}: cannot connect")),
        "{stderr}"
    );
    assert!(stderr.contains("the other servers go on"), "{stderr}");
    assert!(
        stderr.contains(&format!("{dead}: failed (exit 3)")),
        "{stderr}"
    );
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let mut seen = std::collections::HashSet::new();
    let lines: Vec<_> = text(&out.stdout).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 400);
    for line in &lines {
        let json: serde_json::Value = serde_json::from_str(line).unwrap();
        seen.insert(json["server"].as_str().unwrap().to_string());
        assert_eq!(json["type"], "event");
    }
    assert!(seen.contains(&ta) && seen.contains(&tb), "{seen:?}");
    assert!(!seen.contains(&dead));
}

#[test]
fn raw_fleet_output_is_a_recording_naming_each_server() {
    let (a, b) = (serve(), serve());
    let (ta, tb) = (format!("demo@{}", a.addr), format!("demo@{}", b.addr));
    let out = amicon(&["watch", &format!("{ta},{tb}"), "--count", "200"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let recording = amicon::record::read(&out.stdout);
    assert!(recording.timed, "starts with the recording header");
    assert_eq!(recording.entries.len(), 200);
    assert_eq!(recording.servers.len(), 200);
    let mut names = recording.server_names();
    names.sort();
    let mut expect = vec![ta.as_str(), tb.as_str()];
    expect.sort();
    assert_eq!(names, expect);
}

#[test]
fn send_answers_from_every_target_and_names_the_one_that_failed() {
    let (a, b) = (serve(), serve());
    let dead = format!("demo@127.0.0.1:{}", free_port());
    let (ta, tb) = (format!("demo@{}", a.addr), format!("demo@{}", b.addr));
    let out = amicon(&["send", &format!("{ta},{tb}"), "Ping", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let servers: std::collections::HashSet<String> = text(&out.stdout)
        .lines()
        .map(|l| {
            let json: serde_json::Value = serde_json::from_str(l).unwrap();
            assert_eq!(json["name"], "Success");
            json["server"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(servers.len(), 2);

    let out = amicon(&["send", &format!("{ta},{dead}"), "Ping"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!("{dead}: failed (exit 3)")),
        "{stderr}"
    );
    assert!(!stderr.contains(&format!("{ta}: failed")), "{stderr}");
    assert!(text(&out.stdout).contains("Ping: Pong"));
}
