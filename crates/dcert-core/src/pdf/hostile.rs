//! Crafted hostile PDFs: the shapes an attacker uses to make a reader spend memory or time out of
//! proportion to a file's size. They feed the robustness tests, the committed corpus, the
//! resilience tests of the binary and `dcert bench hostile`. Pure functions of a target size;
//! nothing here reads or writes files.

use std::io::Write as _;

/// One crafted file.
#[derive(Clone, Debug)]
pub struct Shape {
    /// A file name without extension, e.g. `empty-arrays-in-fields`.
    pub name: &'static str,
    /// What the file does, in words.
    pub what: &'static str,
    /// The file.
    pub bytes: Vec<u8>,
}

/// A PDF from numbered object bodies, with a correct cross-reference table.
pub fn build_pdf(objects: &[(u32, Vec<u8>)], root: u32) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (id, body) in objects {
        offsets.push((*id, out.len()));
        out.extend_from_slice(format!("{id} 0 obj\n").as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let size = objects.iter().map(|(id, _)| id + 1).max().unwrap_or(1);
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {size}\n0000000000 65535 f \n").as_bytes());
    for id in 1..size {
        match offsets.iter().find(|(i, _)| *i == id) {
            Some((_, off)) => out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes()),
            None => out.extend_from_slice(b"0000000000 65535 f \n"),
        }
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {size} /Root {root} 0 R >>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
    );
    out
}

/// A stream object's body.
pub fn stream(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut body = format!("<< {dict} /Length {} >>\nstream\n", data.len()).into_bytes();
    body.extend_from_slice(data);
    body.extend_from_slice(b"\nendstream");
    body
}

/// zlib-compressed `data`.
pub fn deflate(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing to a Vec cannot fail.
    encoder.write_all(data).expect("writing to memory");
    encoder.finish().expect("writing to memory")
}

/// `unit` repeated to fill about `size` bytes, less `room` for the rest of the file.
fn fill(unit: &[u8], size: usize, room: usize) -> Vec<u8> {
    unit.repeat(size.saturating_sub(room) / unit.len().max(1))
}

/// Distinct dictionary entries (`/k0 0 /k1 0 …`) filling `size` bytes.
fn entries(size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size);
    for i in 0.. {
        let entry = format!("/k{i} 0 ");
        if out.len() + entry.len() > size {
            break;
        }
        out.extend_from_slice(entry.as_bytes());
    }
    out
}

/// A catalog whose form's `/Fields` value is `fields`.
fn catalog_with_fields(fields: &[u8]) -> Vec<u8> {
    [b"<< /Type /Catalog /AcroForm << /Fields ".as_slice(), fields, b" >> >>"].concat()
}

/// `[a 0 R b 0 R …]` for the object numbers `ids`.
fn references(ids: impl Iterator<Item = u32>) -> Vec<u8> {
    let list: Vec<u8> = ids.flat_map(|id| format!("{id} 0 R ").into_bytes()).collect();
    [b"[".as_slice(), &list, b"]"].concat()
}

/// A PDF of one object, a catalog whose form's `/Fields` value is `fields`.
fn fields_inline(fields: &[u8]) -> Vec<u8> {
    build_pdf(&[(1, catalog_with_fields(fields))], 1)
}

/// Every shape, each about `size` bytes (at least a few kilobytes).
pub fn shapes(size: usize) -> Vec<Shape> {
    let size = size.max(4096);
    let room = 1024;
    let bracketed = |unit: &[u8]| [b"[".as_slice(), &fill(unit, size, room), b"]"].concat();
    let mut out = vec![
        Shape {
            name: "empty-arrays-object",
            what: "one object that is an array of empty arrays ([[][][]…]), the form's fields",
            bytes: build_pdf(&[(1, catalog_with_fields(b"2 0 R")), (2, bracketed(b"[]"))], 1),
        },
        Shape {
            name: "empty-arrays-in-fields",
            what: "the catalog itself holds an array of empty arrays",
            bytes: fields_inline(&bracketed(b"[]")),
        },
        Shape {
            name: "empty-arrays-unreferenced",
            what: "an array of empty arrays that nothing refers to",
            bytes: build_pdf(&[(1, b"<< /Type /Catalog >>".to_vec()), (2, bracketed(b"[]"))], 1),
        },
        Shape {
            name: "empty-dictionaries",
            what: "an array of empty dictionaries",
            bytes: fields_inline(&bracketed(b"<<>>")),
        },
        Shape {
            name: "dictionary-entries",
            what: "one dictionary with as many entries as fit",
            bytes: fields_inline(&[b"[] /Extra << ".as_slice(), &entries(size - room), b">>"].concat()),
        },
        Shape { name: "empty-strings", what: "an array of empty strings", bytes: fields_inline(&bracketed(b"()")) },
        Shape { name: "numbers", what: "an array of one-digit numbers", bytes: fields_inline(&bracketed(b"0 ")) },
        Shape { name: "names", what: "an array of one-letter names", bytes: fields_inline(&bracketed(b"/a")) },
        Shape {
            name: "references",
            what: "an array of references to one field",
            bytes: build_pdf(
                &[
                    (1, catalog_with_fields(&bracketed(b"2 0 R "))),
                    (2, b"<< /FT /Sig /V << /ByteRange [0 1 2 3] /SubFilter /ETSI.CAdES.detached >> >>".to_vec()),
                ],
                1,
            ),
        },
        Shape {
            name: "long-name",
            what: "one name as long as the file",
            bytes: fields_inline(&[b"[/".as_slice(), &fill(b"a", size, room), b"]"].concat()),
        },
        Shape {
            name: "unterminated-hex-string",
            what: "a hex string that never ends",
            bytes: fields_inline(&[b"[<".as_slice(), &fill(b"0", size, room)].concat()),
        },
        Shape {
            name: "nested-literal-string",
            what: "a literal string of nested parentheses that never closes",
            bytes: fields_inline(&[b"[(".as_slice(), &fill(b"(", size, room)].concat()),
        },
        Shape {
            name: "long-comment",
            what: "a comment line as long as the file inside the catalog",
            bytes: fields_inline(&[b"[ %".as_slice(), &fill(b"a", size, room), b"\n]"].concat()),
        },
    ];

    // Many objects whose strings all run on to the end of the file: each parse would scan the
    // rest of the file again.
    let count = (size / 64).clamp(16, 4096);
    let tail = fill(b"x", size, room + count * 56);
    let mut objects = vec![(1, catalog_with_fields(&references((0..count as u32).map(|i| i + 2))))];
    for i in 0..count {
        objects.push((i as u32 + 2, if i + 1 == count { [b"(".as_slice(), &tail].concat() } else { b"(".to_vec() }));
    }
    // Each string opens on the line after its object's header, and every later "(" nests it
    // deeper: none closes before the end of the file.
    let shared = build_pdf(&objects, 1);
    out.push(Shape {
        name: "strings-to-the-end",
        what: "many objects whose strings run on to the end of the file",
        bytes: shared,
    });

    // No cross-reference table: as many distinct objects as fit, found only by a scan.
    let per = b"1000000 0 obj [] endobj\n".len();
    let headers: Vec<u8> = (0..size.saturating_sub(room) / per)
        .flat_map(|i| format!("{:07} 0 obj [] endobj\n", i + 1).into_bytes())
        .collect();
    out.push(Shape {
        name: "objects-without-table",
        what: "as many objects as fit and no cross-reference table",
        bytes: [b"%PDF-1.7\n".as_slice(), &headers, b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"].concat(),
    });

    // An object stream whose header promises more objects than any table holds, and whose data
    // inflates to far more than the file.
    let header = deflate(&fill(b"2 0 ", 64 << 20, 0));
    out.push(Shape {
        name: "object-stream-header",
        what: "an object stream whose header lists sixteen million objects and inflates to 64 MB",
        bytes: xref_stream_pdf(
            &[
                (1, catalog_with_fields(b"[3 0 R]")),
                (2, stream("/Type /ObjStm /N 16000000 /First 0 /Filter /FlateDecode", &header)),
            ],
            &[(3, 2, 0)],
            None,
            size,
        ),
    });
    // A signature whose byte range refers ten thousand times to one object that is almost all
    // whitespace: each lookup would scan the whole file again.
    let lookups = 10_000;
    let byte_range: Vec<u8> = b"1 0 R ".repeat(lookups);
    let sig_field =
        [b"<< /FT /Sig /V << /SubFilter /ETSI.CAdES.detached /ByteRange [".as_slice(), &byte_range, b"] >> >>"]
            .concat();
    out.push(Shape {
        name: "whitespace-lookups",
        what: "a byte range of ten thousand references to an object of whitespace",
        bytes: build_pdf(
            &[
                (1, [fill(b" ", size, room + byte_range.len()).as_slice(), b"7"].concat()),
                (2, catalog_with_fields(b"[3 0 R]")),
                (3, sig_field),
            ],
            2,
        ),
    });

    // No table, and "trailer%" over and over: each candidate trailer's comment runs to the end.
    out.push(Shape {
        name: "trailer-comments",
        what: "the word trailer followed by a comment, over and over, and no table",
        bytes: [b"%PDF-1.7\n".as_slice(), &fill(b"trailer%", size, room)].concat(),
    });

    // Object streams behind a chain of filters that inflates each to 14 MiB and then decodes it
    // to nothing: each lookup would decompress again.
    let chain = deflate(&deflate(&vec![b' '; 14 << 20]));
    let streams = (size.saturating_sub(room) / (chain.len() + 160)).clamp(1, 2000) as u32;
    let mut objects = vec![(1, catalog_with_fields(&references((0..streams).map(|i| 10_000 + i))))];
    for i in 0..streams {
        objects.push((
            2 + i,
            stream("/Type /ObjStm /N 1 /First 8 /Filter [/FlateDecode /FlateDecode /ASCIIHexDecode]", &chain),
        ));
    }
    let compressed: Vec<(u32, u32, u32)> = (0..streams).map(|i| (10_000 + i, 2 + i, 0)).collect();
    out.push(Shape {
        name: "filter-chains",
        what: "object streams whose filters inflate each to 14 MiB and decode it to nothing",
        bytes: xref_stream_pdf(&objects, &compressed, None, size),
    });

    out.push(Shape {
        name: "xref-stream-claims-billions",
        what: "a cross-reference stream claiming two billion entries",
        bytes: xref_stream_pdf(&[(1, b"<< /Type /Catalog >>".to_vec())], &[], Some((0, 2_147_483_647)), size),
    });
    out
}

/// A PDF whose cross-reference data is a stream: the `objects` at offsets, the `compressed` ones
/// (id, object stream, index) in object streams; `index` overrides the stream's `/Index`; a
/// comment before the objects pads the file to about `size` bytes.
pub fn xref_stream_pdf(
    objects: &[(u32, Vec<u8>)],
    compressed: &[(u32, u32, u32)],
    index: Option<(u32, u32)>,
    size: usize,
) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n".to_vec();
    let estimate: usize = objects.iter().map(|(_, b)| b.len() + 32).sum::<usize>() + 512;
    if size > estimate {
        out.push(b'%');
        out.extend(fill(b" ", size - estimate, 0));
        out.push(b'\n');
    }
    let mut rows: Vec<(u32, [u8; 7])> = Vec::new();
    let row = |kind: u8, field: u32, second: u16| {
        let mut r = [kind, 0, 0, 0, 0, 0, 0];
        r[1..5].copy_from_slice(&field.to_be_bytes());
        r[5..7].copy_from_slice(&second.to_be_bytes());
        r
    };
    for (id, body) in objects {
        rows.push((*id, row(1, out.len() as u32, 0)));
        out.extend_from_slice(format!("{id} 0 obj\n").as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    for (id, stream, index) in compressed {
        rows.push((*id, row(2, *stream, *index as u16)));
    }
    let xref_id = rows.iter().map(|(id, _)| id + 1).max().unwrap_or(1);
    let xref = out.len();
    rows.push((xref_id, row(1, xref as u32, 0)));
    rows.sort_by_key(|(id, _)| *id);
    let mut data = row(0, 0, 0xffff).to_vec();
    for id in 1..=xref_id {
        match rows.iter().find(|(i, _)| *i == id) {
            Some((_, r)) => data.extend_from_slice(r),
            None => data.extend_from_slice(&row(0, 0, 0)),
        }
    }
    let data = deflate(&data);
    let index = match index {
        Some((first, count)) => format!("/Index [{first} {count}] "),
        None => String::new(),
    };
    out.extend_from_slice(
        format!(
            "{xref_id} 0 obj\n<< /Type /XRef /Size {} {index}/W [1 4 2] /Root 1 0 R /Filter /FlateDecode /Length {} >>\nstream\n",
            xref_id + 1,
            data.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(&data);
    out.extend_from_slice(format!("\nendstream\nendobj\nstartxref\n{xref}\n%%EOF\n").as_bytes());
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_shape_has_about_the_size_asked_for() {
        for shape in super::shapes(1 << 20) {
            let len = shape.bytes.len();
            assert!((900_000..=(1 << 20) + 4096).contains(&len), "{}: {len} bytes", shape.name);
            assert!(shape.bytes.starts_with(b"%PDF-1.7"), "{}", shape.name);
        }
    }
}
