//! `amicon serve` as a client sees it: users, MD5 login, calls, background traffic and
//! the flood mode.

mod demo_support;

use amicon::demo::{self, DemoOptions, FloodRate, ServeArgs, Users};
use clap::Parser;
use demo_support::*;
use std::io::Write;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    serve: ServeArgs,
}

async fn md5_login(
    client: &mut Client,
    user: &str,
    secret: &str,
    events: &str,
) -> Vec<amicon::ami::Message> {
    let reply = client
        .action(b"Action: Challenge\r\nActionID: c\r\nAuthType: MD5\r\n\r\n")
        .await;
    let key = md5_key(reply[0].get("Challenge").expect("challenge"), secret);
    let login = format!("Action: Login\r\nActionID: l\r\nAuthType: MD5\r\nUsername: {user}\r\nKey: {key}\r\nEvents: {events}\r\n\r\n");
    client.send(login.as_bytes()).await;
    client.until(|m| m.is("ActionID", "l")).await
}

#[test]
fn serve_flags_parse() {
    let cli = Cli::parse_from([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--rate",
        "2",
        "--seed",
        "7",
        "--user",
        "a:b",
        "--user",
        "c:d",
        "--flood",
        "max",
    ]);
    assert_eq!(cli.serve.listen.port(), 0);
    assert_eq!(cli.serve.seed, Some(7));
    assert_eq!(cli.serve.user.len(), 2);
    assert_eq!(cli.serve.flood, Some(FloodRate::Max));
    assert!(Cli::try_parse_from(["serve", "--flood", "fast"]).is_err());
    let shown = format!("{:?}", cli.serve);
    assert!(
        shown.contains("a:***") && !shown.contains(":b") && !shown.contains(":d"),
        "{shown}"
    );
}

#[tokio::test]
async fn the_default_user_is_demo_demo() {
    let server = demo::start(DemoOptions {
        calls_per_second: 0.0,
        ..Default::default()
    })
    .await
    .unwrap();
    let (user, secret) = server.login();
    assert_eq!((user.as_str(), secret.expose()), ("demo", "demo"));
    let mut client = Client::connect(server.local_addr()).await;
    let reply = md5_login(&mut client, "demo", "demo", "off").await;
    assert!(reply[0].is("Message", "Authentication accepted"));
}

#[tokio::test]
async fn users_from_a_file_log_in_with_md5_originate_and_see_the_call() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(file, "# test users\nalice = wonderland\nbob = \"builder\"").unwrap();
    let mut users = Users::default();
    users.add_file(file.path()).unwrap();
    let server = demo::start(DemoOptions {
        calls_per_second: 0.0,
        seed: 1,
        users,
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(server.user_names(), ["alice", "bob"]);

    let mut client = Client::connect(server.local_addr()).await;
    let login = md5_login(&mut client, "bob", "builder", "call").await;
    assert!(login[0].is("Message", "Authentication accepted"));
    client
        .send(b"Action: Originate\r\nActionID: o1\r\nChannel: Local/2001@from-internal\r\nContext: test\r\nExten: echo\r\nPriority: 1\r\nCallerID: \"Zo\xc3\xab\" <3000>\r\nAsync: true\r\n\r\n")
        .await;
    let events = client.until(|m| m.is("Event", "OriginateResponse")).await;
    assert!(events.iter().any(|m| m.is("Event", "Newchannel")));
    assert!(
        events.last().unwrap().is("ActionID", "o1")
            && events.last().unwrap().is("Response", "Success")
    );
    // Hang the call up by name and see it end.
    let channel = events
        .iter()
        .find_map(|m| m.get_str("Channel").filter(|c| c.ends_with(";1")))
        .unwrap()
        .into_owned();
    let reply = client
        .action(format!("Action: Hangup\r\nActionID: h\r\nChannel: {channel}\r\n\r\n").as_bytes())
        .await;
    assert!(
        reply.last().unwrap().is("Message", "Channel Hungup"),
        "{reply:?}"
    );
    let mut hung = 0;
    client
        .until(|m| {
            hung += usize::from(m.is("Event", "Hangup"));
            hung == 2
        })
        .await;
    let csc = client
        .action(b"Action: CoreShowChannels\r\nActionID: csc\r\n\r\n")
        .await;
    assert!(csc.last().unwrap().is("ListItems", "0"), "{csc:?}");
}

#[tokio::test]
async fn a_bad_secret_fails_and_closes() {
    let mut users = Users::default();
    users.add_flag("alice:wonderland").unwrap();
    let server = demo::start(DemoOptions {
        calls_per_second: 0.0,
        users,
        ..Default::default()
    })
    .await
    .unwrap();
    let mut client = Client::connect(server.local_addr()).await;
    let reply = client
        .action(b"Action: Challenge\r\nActionID: c\r\nAuthType: MD5\r\n\r\n")
        .await;
    let key = md5_key(reply[0].get("Challenge").unwrap(), "wrong");
    client.send(format!("Action: Login\r\nActionID: l\r\nAuthType: MD5\r\nUsername: alice\r\nKey: {key}\r\n\r\n").as_bytes()).await;
    let rest = client.until_close().await;
    assert_eq!(rest.len(), 1);
    assert!(rest[0].is("Message", "Authentication failed"));
    // The default user is not accepted once users are configured.
    let mut client = Client::connect(server.local_addr()).await;
    client
        .send(b"Action: Login\r\nActionID: l\r\nUsername: demo\r\nSecret: demo\r\n\r\n")
        .await;
    assert!(client.until_close().await[0].is("Response", "Error"));
}

#[tokio::test]
async fn background_traffic_reaches_a_logged_in_client() {
    let server = demo::start(DemoOptions {
        calls_per_second: 20.0,
        seed: 3,
        ..Default::default()
    })
    .await
    .unwrap();
    let mut client = Client::connect(server.local_addr()).await;
    md5_login(&mut client, "demo", "demo", "on").await;
    let events = client.until(|m| m.is("Event", "Newchannel")).await;
    assert!(events.iter().any(|m| m.is("Event", "FullyBooted")));
    // A client that logged in with events off sees none of it.
    let mut quiet = Client::connect(server.local_addr()).await;
    md5_login(&mut quiet, "demo", "demo", "off").await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let pong = quiet.action(b"Action: Ping\r\nActionID: p\r\n\r\n").await;
    assert_eq!(pong.len(), 1, "{pong:?}");
}

#[tokio::test]
async fn the_flood_streams_whole_events_and_counts_them() {
    let server = demo::start(DemoOptions {
        calls_per_second: 0.0,
        flood: Some(FloodRate::Max),
        ..Default::default()
    })
    .await
    .unwrap();
    let mut client = Client::connect(server.local_addr()).await;
    md5_login(&mut client, "demo", "demo", "on").await;
    let mut read = 0;
    while read < 50_000 {
        let m = client.next().await.expect("events keep coming");
        assert!(m.get("Event").is_some() || m.get("Response").is_some());
        read += 1;
    }
    // Actions are still answered in the middle of the flood.
    client
        .send(b"Action: Ping\r\nActionID: mid-flood\r\n\r\n")
        .await;
    client.until(|m| m.is("ActionID", "mid-flood")).await;
    drop(client);
    let mut counted = 0;
    for _ in 0..100 {
        counted = server.flood_events_sent();
        if counted > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(counted >= 50_000, "counted {counted}");
}

#[tokio::test]
async fn after_a_logoff_the_client_has_every_flooded_event_the_server_counted() {
    let server = demo::start(DemoOptions {
        calls_per_second: 0.0,
        flood: Some(FloodRate::Max),
        ..Default::default()
    })
    .await
    .unwrap();
    let mut client = Client::connect(server.local_addr()).await;
    client.send(b"Action: Login\r\nActionID: l\r\nUsername: demo\r\nSecret: demo\r\nEvents: call\r\n\r\n").await;
    let mut flooded = 0u64;
    let mut read = 0u64;
    while let Some(m) = client.next().await {
        read += 1;
        if read == 30_000 {
            client
                .send(b"Action: Logoff\r\nActionID: bye\r\n\r\n")
                .await;
        }
        if m.get("Response").is_none() || m.get("Event").is_some() {
            assert!(
                m.is("Privilege", "call,all"),
                "only the classes asked for: {m:?}"
            );
            flooded += 1;
        }
    }
    let mut counted = 0;
    for _ in 0..100 {
        counted = server.flood_events_sent();
        if counted > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(flooded > 30_000);
    assert_eq!(
        flooded, counted,
        "events received vs events the server says it sent"
    );
}

#[tokio::test]
async fn a_port_in_use_is_reported_with_its_address() {
    let first = demo::start(DemoOptions {
        calls_per_second: 0.0,
        ..Default::default()
    })
    .await
    .unwrap();
    let taken = first.local_addr();
    let Err(e) = demo::start(DemoOptions {
        listen: taken,
        ..Default::default()
    })
    .await
    else {
        panic!("a second server on the same port");
    };
    assert!(
        e.to_string()
            .starts_with(&format!("cannot listen on {taken}: ")),
        "{e}"
    );
}

#[tokio::test]
async fn serve_refuses_an_empty_users_file_instead_of_falling_back_to_demo() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let cli = Cli::parse_from([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--users",
        file.path().to_str().unwrap(),
    ]);
    let err = demo::serve(cli.serve).await.unwrap_err();
    assert!(err.to_string().contains("no users in this file"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_client_that_stops_reading_is_dropped_without_stalling_others() {
    let server = demo::start(DemoOptions {
        calls_per_second: 0.0,
        flood: Some(FloodRate::Max),
        ..Default::default()
    })
    .await
    .unwrap();
    // Logs in, then never reads: the flood fills its socket and the writes stall.
    let mut stalled = tokio::net::TcpStream::connect(server.local_addr())
        .await
        .unwrap();
    tokio::io::AsyncWriteExt::write_all(
        &mut stalled,
        b"Action: Login\r\nUsername: demo\r\nSecret: demo\r\n\r\n",
    )
    .await
    .unwrap();
    // Another client is served meanwhile.
    let mut other = Client::connect(server.local_addr()).await;
    let reply = other.action(b"Action: Ping\r\nActionID: p\r\n\r\n").await;
    assert!(reply[0].is("Message", "Permission denied"));
    // The stalled one is dropped once its writes time out (the paused clock runs ahead),
    // and its flood is counted on the way out.
    let mut counted = 0;
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        counted = server.flood_events_sent();
        if counted > 0 {
            break;
        }
    }
    assert!(counted > 0, "the stalled client was never dropped");
}
