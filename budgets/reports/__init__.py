"""Reports: the variance report computed once into plain data, then laid out as HTML, CSV, XLSX and PDF;
transparency spend files; and the neutralising of spreadsheet formulas in every exported text cell."""
