"""What starts syncs besides a command: the live sync that follows the uploads' change stream
(`live_sync`, its status `live_status`, its content checks `live_content`) and the app's
in-process timer (`schedule`). Built on the sync above it."""
