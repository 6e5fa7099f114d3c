"""What is kept: the index, content-addressed snapshots, WARC files, BagIt export, fixity."""
