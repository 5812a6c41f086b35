//! What reaching further costs: `amicon watch` through an ssh tunnel against direct
//! (the same `amicon serve --flood max` flood), and a merged `watch --json` over four
//! sessions against one session at the same total event rate (`--flood` paced).
//!
//! `cargo bench --bench reach` measures; `cargo bench --bench reach -- --smoke` is the
//! quick form (checks it all runs; figures not meaningful). The ssh half needs the
//! sshd of tests/harness/sshd.sh (AMICON_TEST_SSH_COMMAND, AMICON_TEST_SSH_DEST) and is
//! skipped, with a note, without it. Figures are ratios: the machines are shared.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
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

fn start_server(flood: &str) -> Server {
    let addr = format!("127.0.0.1:{}", free_port());
    let child = Command::new(BIN)
        .args(["serve", "--listen", &addr, "--flood", flood, "--rate", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start amicon serve");
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(&addr).is_err() {
        assert!(Instant::now() < deadline, "amicon serve did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    Server { child, addr }
}

/// What one `watch` run cost: wall time and the CPU time of the amicon process.
struct Cost {
    wall: Duration,
    cpu: Duration,
}

/// Runs `amicon ARGS` to its end with stdout to /dev/null; the CPU time comes from
/// wait4, so it is exactly the children's.
// Reaped by wait4 (for its rusage), which clippy does not see.
#[allow(clippy::zombie_processes)]
fn run_watch(args: &[String], env: &[(&str, String)]) -> Cost {
    let started = Instant::now();
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env("AMI_SECRET", "demo")
        .env("XDG_CONFIG_HOME", "/nonexistent-amicon-bench-config")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("run amicon watch");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 on our own child, with valid pointers to locals.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4 failed");
    let wall = started.elapsed();
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr {
        use std::io::Read;
        let _ = pipe.read_to_string(&mut stderr);
    }
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "amicon {args:?} failed: {stderr}"
    );
    assert!(
        !stderr.contains("dropped"),
        "amicon {args:?} dropped messages: {stderr}"
    );
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Cost {
        wall,
        cpu: time(usage.ru_utime) + time(usage.ru_stime),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn watch_args(targets: &str, count: u64, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "watch".to_string(),
        targets.to_string(),
        "--count".to_string(),
        count.to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn ssh_vs_direct(events: u64, runs: usize) {
    let (Ok(command), Ok(dest)) = (
        std::env::var("AMICON_TEST_SSH_COMMAND"),
        std::env::var("AMICON_TEST_SSH_DEST"),
    ) else {
        println!(
            "reach: ssh vs direct skipped (no AMICON_TEST_SSH_DEST: source tests/harness/sshd.sh)"
        );
        return;
    };
    let server = start_server("max");
    let target = format!("demo@{}", server.addr);
    let mut direct = Vec::new();
    let mut tunnel = Vec::new();
    for _ in 0..runs {
        let cost = run_watch(&watch_args(&target, events, &[]), &[]);
        direct.push(events as f64 / cost.wall.as_secs_f64());
        let mut args = watch_args(&target, events, &[]);
        args.extend(["--ssh".to_string(), dest.clone()]);
        let cost = run_watch(&args, &[("AMICON_SSH_COMMAND", command.clone())]);
        tunnel.push(events as f64 / cost.wall.as_secs_f64());
    }
    let (direct, tunnel) = (median(direct), median(tunnel));
    println!("reach: watch raw, {events} events of a max flood, {runs} run(s), medians");
    println!("  direct TCP                 {direct:>12.0} events/s");
    println!(
        "  through ssh -W             {tunnel:>12.0} events/s  ratio {:.2} (ssh / direct)",
        tunnel / direct
    );
}

fn fleet_vs_single(total_rate: u64, events: u64, runs: usize) {
    let single = start_server(&total_rate.to_string());
    let per_server = (total_rate / 4).to_string();
    let fleet: Vec<Server> = (0..4).map(|_| start_server(&per_server)).collect();
    let fleet_targets = fleet
        .iter()
        .map(|s| format!("demo@{}", s.addr))
        .collect::<Vec<_>>()
        .join(",");
    let mut one_cpu = Vec::new();
    let mut four_cpu = Vec::new();
    let mut one_wall = Vec::new();
    let mut four_wall = Vec::new();
    for _ in 0..runs {
        let cost = run_watch(
            &watch_args(&format!("demo@{}", single.addr), events, &["--json"]),
            &[],
        );
        one_cpu.push(cost.cpu.as_secs_f64());
        one_wall.push(cost.wall.as_secs_f64());
        let cost = run_watch(&watch_args(&fleet_targets, events, &["--json"]), &[]);
        four_cpu.push(cost.cpu.as_secs_f64());
        four_wall.push(cost.wall.as_secs_f64());
    }
    let (one_cpu, four_cpu) = (median(one_cpu), median(four_cpu));
    let (one_wall, four_wall) = (median(one_wall), median(four_wall));
    println!(
        "reach: watch --json, {events} events at {total_rate} events/s in total, {runs} run(s), medians"
    );
    println!(
        "  1 session                  wall {one_wall:>6.2}s  cpu {one_cpu:>6.2}s  ({:.0} events per cpu-second)",
        events as f64 / one_cpu
    );
    println!(
        "  4 sessions merged          wall {four_wall:>6.2}s  cpu {four_cpu:>6.2}s  ({:.0} events per cpu-second)",
        events as f64 / four_cpu
    );
    println!(
        "  ratio 4/1: wall {:.2}, cpu {:.2} (1.00 = merging costs nothing)",
        four_wall / one_wall,
        four_cpu / one_cpu
    );
}

fn main() {
    let smoke = std::env::args().any(|a| a == "--smoke")
        || std::env::var_os("AMICON_BENCH_SMOKE").is_some()
        || !std::env::args().any(|a| a == "--bench");
    let (events, runs) = if smoke {
        (20_000u64, 1)
    } else {
        (1_000_000u64, 3)
    };
    ssh_vs_direct(events, runs);
    // A rate both forms keep up with on a shared two-core machine, high enough that
    // the session's work shows in the CPU time.
    let rate = if smoke { 50_000 } else { 100_000 };
    fleet_vs_single(rate, events, runs);
}
