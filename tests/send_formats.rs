//! `amicon send --format line|json` on the real binary against the built-in demo PBX
//! (issue 16): one line per message like `watch --format line`, and JSON rows carry a
//! `fields` object (first value of each key) beside the lossless `headers`.

fn demo_pbx() -> (tokio::runtime::Runtime, String) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(async {
        amicon::demo::start(amicon::demo::DemoOptions {
            calls_per_second: 0.0,
            ..Default::default()
        })
        .await
        .unwrap()
    });
    let (user, _) = server.login();
    let target = format!("{user}@{}", server.local_addr());
    std::mem::forget(server);
    (runtime, target)
}

fn send(target: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_amicon"))
        .arg("send")
        .arg(target)
        .args(args)
        .env("AMI_SECRET", "demo")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn send_format_line_prints_one_line_per_message() {
    let (_pbx, target) = demo_pbx();
    let text = send(&target, &["--format", "line", "CoreShowChannels"]);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() >= 2, "{text}");
    assert!(lines[0].contains("Success"), "{text}");
    assert!(
        lines.last().unwrap().contains("CoreShowChannelsComplete"),
        "{text}"
    );
    assert!(!text.contains("\r\n"), "no raw AMI: {text}");
}

#[test]
fn send_json_rows_carry_fields_beside_headers() {
    let (_pbx, target) = demo_pbx();
    for args in [&["--json", "Ping"][..], &["--format", "json", "Ping"][..]] {
        let text = send(&target, args);
        let row: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(row["fields"]["Ping"], "Pong", "{row}");
        assert_eq!(row["fields"]["Response"], "Success", "{row}");
        assert!(row["headers"].is_array(), "{row}");
    }
}
