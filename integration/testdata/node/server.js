const express = require("express");
const multer = require("multer");

const app = express();
const upload = multer({ dest: "uploads/" });

app.use(express.static("public"));
app.post("/upload", upload.single("file"), (req, res) => res.json({ ok: true }));
app.listen(process.env.PORT || 8080);
