"""What the product writes for people: spreadsheets (XLSX, CSV), report PDFs, SVG charts and
login slips. Writers take plain values; they import the wiring (lms.app) and the certificate
fonts, nothing of the models, services or web above them."""
