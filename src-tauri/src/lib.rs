//! The Mailproof desktop app: a thin Tauri shell over the engine. Each command here moves its
//! arguments to a plain function in [`commands`] (or [`remote`] for accounts), on a
//! blocking thread for long work, and forwards progress through a [`Channel`].

pub mod commands;
pub mod dialogs;
pub mod errors;
pub mod ipc;
pub mod progress;
pub mod remote;

use std::path::PathBuf;

use tauri::ipc::Channel;
use tauri::{AppHandle, Emitter, Manager, State, WebviewWindow, WindowEvent};
use tauri_plugin_clipboard_manager::ClipboardExt;

use commands::Session;
use dialogs::Answers;
use ipc::{
    AppError, CheckResult, ConnectionReport, FolderList, FoundMailbox, MailboxRef, Pick, Progress,
    ReportFormat, RestoreResult, RunResult, SaveTarget, Task, TicketSummary,
};

/// Runs blocking engine work off the main thread, so the window stays responsive.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    tauri::async_runtime::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| {
            Err(AppError {
                kind: ipc::ErrorKind::Io,
                message: format!("The work stopped unexpectedly: {e}"),
                hint: "Try again; if it happens again, tell your helpdesk.".into(),
            })
        })
}

/// Sends progress to the window; a window that went away is not an error for the run.
fn sender(channel: Channel<Progress>) -> impl Fn(&Progress) + Sync {
    move |p: &Progress| {
        let _ = channel.send(p.clone());
    }
}

#[tauri::command]
fn find_mailboxes(app: AppHandle) -> Vec<FoundMailbox> {
    app.path()
        .home_dir()
        .map(|home| commands::find_mailboxes(&home))
        .unwrap_or_default()
}

#[tauri::command]
async fn list_folders(mailbox: MailboxRef) -> Result<FolderList, AppError> {
    blocking(move || commands::list_folders(&mailbox)).await
}

#[tauri::command]
async fn test_connection(mailbox: MailboxRef) -> Result<ConnectionReport, AppError> {
    blocking(move || remote::test_connection(&mailbox)).await
}

#[tauri::command]
async fn pick_path(
    app: AppHandle,
    answers: State<'_, Answers>,
    pick: Pick,
) -> Result<Option<String>, AppError> {
    Ok(dialogs::open(&app, &answers, pick).map(|p| p.display().to_string()))
}

/// Opens a connection profile and returns its text; the screen parses and checks it.
#[tauri::command]
async fn open_profile(
    app: AppHandle,
    answers: State<'_, Answers>,
) -> Result<Option<String>, AppError> {
    let Some(path) = dialogs::open(&app, &answers, Pick::Profile) else {
        return Ok(None);
    };
    commands::read_profile(&path).map(Some)
}

#[tauri::command]
async fn choose_output(
    app: AppHandle,
    answers: State<'_, Answers>,
    task: Task,
    location: String,
    today: String,
) -> Result<Option<SaveTarget>, AppError> {
    let name = commands::suggested_name(task, &location, &today);
    let title = match task {
        Task::Receipt => "Save the receipt",
        Task::Export => "Save the archive",
        Task::Check => "Save the check report",
    };
    Ok(dialogs::save(&app, &answers, title, &name).map(|p| commands::save_target(&p)))
}

#[tauri::command]
async fn run_task(
    app: AppHandle,
    task: Task,
    mailbox: MailboxRef,
    folders: Vec<String>,
    output: String,
    on_progress: Channel<Progress>,
) -> Result<RunResult, AppError> {
    blocking(move || {
        let session = app.state::<Session>();
        let send = sender(on_progress);
        commands::run(
            &session,
            task,
            &mailbox,
            folders,
            &PathBuf::from(output),
            &send,
        )
    })
    .await
}

#[tauri::command]
async fn run_check(
    app: AppHandle,
    before: String,
    after: MailboxRef,
    report: Option<String>,
    on_progress: Channel<Progress>,
) -> Result<CheckResult, AppError> {
    blocking(move || {
        let session = app.state::<Session>();
        let send = sender(on_progress);
        let report = report.map(PathBuf::from);
        commands::check(&session, &before, &after, report.as_deref(), &send)
    })
    .await
}

#[tauri::command]
async fn run_restore(
    app: AppHandle,
    archive: String,
    mailbox: MailboxRef,
    on_progress: Channel<Progress>,
) -> Result<RestoreResult, AppError> {
    blocking(move || {
        let session = app.state::<Session>();
        let send = sender(on_progress);
        commands::restore(&session, &PathBuf::from(archive), &mailbox, &send)
    })
    .await
}

#[tauri::command]
fn cancel_run(session: State<'_, Session>) -> bool {
    session.cancel()
}

/// Asks where to save the last check's report in `format`, and saves it there.
#[tauri::command]
async fn save_report(
    app: AppHandle,
    answers: State<'_, Answers>,
    format: ReportFormat,
    today: String,
) -> Result<Option<String>, AppError> {
    let ext = match format {
        ReportFormat::Html => "html",
        ReportFormat::Json => "json",
        ReportFormat::Csv => "csv",
    };
    let name = format!("mailproof-check-{today}.{ext}");
    let Some(path) = dialogs::save(&app, &answers, "Save the report", &name) else {
        return Ok(None);
    };
    let session = app.state::<Session>();
    commands::save_last_report(&session, format, &path)?;
    Ok(Some(path.display().to_string()))
}

/// The event asking the window to confirm closing while a run is in progress.
pub const CLOSE_WHILE_RUNNING: &str = "close-while-running";

/// Closes the window after the user confirmed, stopping the run in progress first.
#[tauri::command]
fn close_now(window: WebviewWindow, session: State<'_, Session>) -> Result<(), AppError> {
    session.cancel();
    window.destroy().map_err(|e| AppError {
        kind: ipc::ErrorKind::Io,
        message: format!("The window could not be closed: {e}"),
        hint: "Try again.".into(),
    })
}

/// The engine's ticket summary of the last check, put on the clipboard.
#[tauri::command]
fn ticket_summary(app: AppHandle, session: State<'_, Session>) -> Result<TicketSummary, AppError> {
    let text = commands::ticket_summary(&session)?;
    let copied = app.clipboard().write_text(text.clone()).is_ok();
    Ok(TicketSummary { text, copied })
}

pub fn run() {
    tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_clipboard_manager::init())
        .manage(Session::default())
        .manage(Answers::from_args())
        // Closing is decided here, not in the page: it closes at once when nothing runs, and
        // asks the page to confirm (then `close_now`) while a run is in progress.
        .on_window_event(|window, event| {
            if let WindowEvent::CloseRequested { api, .. } = event
                && window.state::<Session>().is_running()
            {
                api.prevent_close();
                let _ = window.emit(CLOSE_WHILE_RUNNING, ());
            }
        })
        .invoke_handler(tauri::generate_handler![
            find_mailboxes,
            list_folders,
            test_connection,
            pick_path,
            open_profile,
            choose_output,
            run_task,
            run_check,
            run_restore,
            cancel_run,
            save_report,
            ticket_summary,
            close_now,
        ])
        .run(tauri::generate_context!())
        .expect("error while running Mailproof");
}
