"""Words the procedural worlds draw from (labels, titles, list items, text to type, colours)."""

BUTTONS = (
    "OK", "Cancel", "Apply", "Save", "Open", "Close", "Delete", "Next", "Back", "Finish", "Help",
    "Retry", "Skip", "Submit", "Send", "Reset", "Continue", "Export", "Import", "Print", "Share",
    "Upload", "Download", "Search", "Sign in", "Sign up", "Confirm", "Discard", "Save as", "Rename",
)
FIELDS = (
    "Name", "Email", "Password", "Username", "Phone", "Address", "City", "Zip code", "Company",
    "Title", "Subject", "Search", "First name", "Last name", "Website", "Notes", "Amount", "Date",
    "Country", "Tags", "File name", "Folder", "Server", "Port", "Comment",
)
CHECKBOXES = (
    "Remember me", "Show hidden files", "Enable notifications", "Auto save", "Dark mode",
    "Send usage data", "Start at login", "Word wrap", "Check for updates", "Use proxy",
    "Open in new tab", "Keep me signed in", "Show line numbers", "Sync settings", "Mute sounds",
    "Overwrite files", "Include subfolders", "Case sensitive", "Show preview", "Compress output",
)
MENUS = ("File", "Edit", "View", "Insert", "Format", "Tools", "Window", "Help", "Go", "Run", "Image")
LIST_ITEMS = (
    "report.pdf", "budget.xlsx", "notes.txt", "photo.jpg", "slides.pptx", "draft.docx", "data.csv",
    "backup.zip", "invoice.pdf", "song.mp3", "video.mp4", "readme.md", "config.yaml", "logo.png",
    "Berlin", "Lisbon", "Nairobi", "Osaka", "Toronto", "Lima", "Oslo", "Cairo", "Seoul", "Quito",
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
)
WINDOW_TITLES = (
    "Settings", "Preferences", "Untitled - Editor", "Downloads", "New Account", "Print", "Export",
    "Mail", "Calendar", "File Manager", "Project Options", "Sign in", "Invoice", "Photo Viewer",
    "Terminal Settings", "Backup", "Network", "Display", "Accounts", "Contacts",
)
DIALOG_MESSAGES = (
    "Save changes before closing?", "Delete the selected file?", "An update is available.",
    "The file already exists. Replace it?", "Discard this draft?", "Connection lost. Try again?",
    "Sign out of all devices?", "Export finished successfully.",
)
TYPED_TEXT = (
    "alice", "bob smith", "carol@example.com", "hunter2", "42", "Main Street 7", "Lisbon",
    "molmo", "quarterly report", "2024-05-01", "Ai2", "hello world", "555 0199", "dave",
    "eve@mail.org", "Project X", "blue", "100.50", "Paris", "new folder",
)
COLORS = {
    "red": (220, 40, 40), "green": (40, 170, 60), "blue": (40, 90, 220), "yellow": (235, 200, 30),
    "orange": (245, 130, 20), "purple": (140, 60, 190), "white": (240, 240, 240), "black": (30, 30, 30),
    "pink": (240, 120, 170), "brown": (130, 80, 40), "gray": (128, 128, 128), "cyan": (30, 190, 210),
}
