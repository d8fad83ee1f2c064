//! Where a transfer's blocks come from: a file read ahead in large chunks, or bytes in
//! memory; optionally converted to netascii (LF to CR LF, CR to CR NUL).

use std::io;

use bytes::Bytes;
use tokio::io::AsyncReadExt;

/// The smallest and largest read-ahead of a file.
const MIN_READ_AHEAD: usize = 64 * 1024;
const MAX_READ_AHEAD: usize = 1024 * 1024;

enum Input {
    File {
        file: tokio::fs::File,
        buf: Vec<u8>,
        pos: usize,
        len: usize,
        eof: bool,
    },
    Bytes {
        data: Bytes,
        pos: usize,
    },
}

impl Input {
    /// The bytes available now, reading more if none are; empty at end of file.
    async fn available(&mut self) -> io::Result<&[u8]> {
        match self {
            Input::File {
                file,
                buf,
                pos,
                len,
                eof,
            } => {
                if *pos == *len && !*eof {
                    *pos = 0;
                    *len = file.read(buf).await?;
                    *eof = *len == 0;
                }
                Ok(&buf[*pos..*len])
            }
            Input::Bytes { data, pos } => Ok(&data[*pos..]),
        }
    }

    fn consume(&mut self, n: usize) {
        match self {
            Input::File { pos, .. } | Input::Bytes { pos, .. } => *pos += n,
        }
    }
}

/// A stream of block contents.
pub(crate) struct BlockSource {
    input: Input,
    netascii: bool,
    /// The second byte of a netascii pair that did not fit in the last block.
    pending: Option<u8>,
}

impl BlockSource {
    /// Reads `file` (of about `size` bytes) ahead by about `window_bytes`.
    pub(crate) fn file(
        file: tokio::fs::File,
        size: u64,
        window_bytes: usize,
        netascii: bool,
    ) -> Self {
        let chunk = window_bytes
            .clamp(MIN_READ_AHEAD, MAX_READ_AHEAD)
            .min(usize::try_from(size).unwrap_or(usize::MAX).max(4096));
        BlockSource {
            input: Input::File {
                file,
                buf: vec![0; chunk],
                pos: 0,
                len: 0,
                eof: false,
            },
            netascii,
            pending: None,
        }
    }

    /// Serves `data`.
    pub(crate) fn bytes(data: Bytes, netascii: bool) -> Self {
        BlockSource {
            input: Input::Bytes { data, pos: 0 },
            netascii,
            pending: None,
        }
    }

    /// Fills `out` (not empty) with the next block's bytes; fewer than `out.len()` only at
    /// the end.
    pub(crate) async fn fill(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let mut n = 0;
        if let Some(b) = self.pending.take() {
            out[0] = b;
            n = 1;
        }
        while n < out.len() {
            let avail = self.input.available().await?;
            if avail.is_empty() {
                break;
            }
            let used = if self.netascii {
                let mut used = 0;
                for &b in avail {
                    if n == out.len() {
                        break;
                    }
                    used += 1;
                    let second = match b {
                        b'\n' => b'\n',
                        b'\r' => 0,
                        _ => {
                            out[n] = b;
                            n += 1;
                            continue;
                        }
                    };
                    out[n] = b'\r';
                    n += 1;
                    if n < out.len() {
                        out[n] = second;
                        n += 1;
                    } else {
                        self.pending = Some(second);
                    }
                }
                used
            } else {
                let k = avail.len().min(out.len() - n);
                out[n..n + k].copy_from_slice(&avail[..k]);
                n += k;
                k
            };
            self.input.consume(used);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn netascii(data: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        for &b in data {
            match b {
                b'\n' => v.extend_from_slice(b"\r\n"),
                b'\r' => v.extend_from_slice(b"\r\0"),
                _ => v.push(b),
            }
        }
        v
    }

    /// Every block until the short one; checks that only the last is short.
    async fn blocks(mut s: BlockSource, blksize: usize) -> Vec<u8> {
        let mut all = Vec::new();
        let mut block = vec![0; blksize];
        loop {
            let n = s.fill(&mut block).await.unwrap();
            all.extend_from_slice(&block[..n]);
            if n < blksize {
                // And it stays at the end.
                assert_eq!(s.fill(&mut block).await.unwrap(), 0);
                return all;
            }
        }
    }

    #[tokio::test]
    async fn file_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let path = dir.path().join("f");
        std::fs::write(&path, &data).unwrap();
        for (blksize, window) in [(512, 512), (8, 8), (65464, 64 * 65464), (1000, 1000)] {
            let f = tokio::fs::File::open(&path).await.unwrap();
            let s = BlockSource::file(f, data.len() as u64, window, false);
            assert_eq!(blocks(s, blksize).await, data);
            let f = tokio::fs::File::open(&path).await.unwrap();
            // A wrong size hint does not change what is read.
            let s = BlockSource::file(f, 10, window, true);
            assert_eq!(blocks(s, blksize).await, netascii(&data));
        }
    }

    proptest! {
        #[test]
        fn netascii_conversion(data in proptest::collection::vec(
            prop_oneof![Just(b'\r'), Just(b'\n'), Just(0u8), any::<u8>()], 0..300),
            blksize in 8usize..40) {
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let got = rt.block_on(blocks(BlockSource::bytes(Bytes::from(data.clone()), true), blksize));
            prop_assert_eq!(got, netascii(&data));
            let got = rt.block_on(blocks(BlockSource::bytes(Bytes::from(data.clone()), false), blksize));
            prop_assert_eq!(got, data);
        }
    }
}
