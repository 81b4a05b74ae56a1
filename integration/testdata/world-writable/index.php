<?php
require __DIR__ . '/lib/helpers.php';
?>
<!doctype html>
<title>Guest book</title>
<form action="upload.php" method="post" enctype="multipart/form-data">
  <input type="file" name="photo"><button>Send</button>
</form>
