<?php
require __DIR__ . '/lib/helpers.php';

$target = __DIR__ . '/uploads/' . safe_name($_FILES['photo']['name']);
move_uploaded_file($_FILES['photo']['tmp_name'], $target);
header('Location: /');
