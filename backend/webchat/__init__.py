"""Web chat: the Socket.IO server behind the widget, its REST fallback, and serving the widget script and
the demo page. Owns no tables: conversations are kept by `backend.conversations`."""
