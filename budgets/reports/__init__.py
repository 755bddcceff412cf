"""Reports: the variance report computed once into plain data, then laid out as HTML, CSV, XLSX and PDF;
transparency spend files. Every text cell they write is neutralised by gmhsc.spreadsheets."""
