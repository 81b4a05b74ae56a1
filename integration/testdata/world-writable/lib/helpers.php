<?php

function safe_name(string $name): string
{
    return preg_replace('/[^A-Za-z0-9._-]/', '_', basename($name));
}
