use attain_notify::startup::{Application, DEFAULT_PORT};

fn main() -> std::process::ExitCode {
    attain_kit::server::run_main("notify", DEFAULT_PORT, |settings| async move {
        Application::build(settings).await?.run_until_stopped(attain_kit::server::shutdown_signal()).await
    })
}
