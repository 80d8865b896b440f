import XCTest

// Tests of IRNData arrive with its code.
final class IRNDataPlaceholderTests: XCTestCase {}
