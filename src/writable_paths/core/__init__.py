"""The pure core: pattern syntax, git's matching, decisions, the permission
policy and the findings it produces. Nothing here touches the file system."""
