//! Work orders in a browser (see the test below).
